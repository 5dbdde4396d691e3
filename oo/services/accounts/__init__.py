"""People and their access: users and server-side sessions, API tokens, account deletion."""
