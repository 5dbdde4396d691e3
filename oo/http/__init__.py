"""HTTP routes for callers outside the page: sign-in, Todoist connect and webhook, the JSON API.

Every route resolves its caller with `oo.http.caller` (session cookie or API token), never from
the request body.
"""
