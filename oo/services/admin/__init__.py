"""The admin console's use cases, one module per console page, plus the read-only SQL runner.

Every function here is called only after the caller's admin role was checked on the server.
"""
