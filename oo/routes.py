"""Path constants for pages and HTTP routes."""

SIGNIN = "/signin"
CONNECT = "/connect"
TIP = "/tip"
TERMS = "/legal/terms"
PRIVACY = "/legal/privacy"
ADMIN = "/admin"

AUTH_START = "/auth/{provider}/start"
AUTH_CALLBACK = "/auth/{provider}/callback"
AUTH_DEMO = "/auth/demo"
AUTH_SIGNOUT = "/auth/signout"
MY_DATA = "/account/my-data"
