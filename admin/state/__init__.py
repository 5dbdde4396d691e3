"""One state class per admin page; every handler re-checks the admin role on the server."""
