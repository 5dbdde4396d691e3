"""Where tasks come from: sources per user, Todoist, and actions carried out at a source.

The catalog of sources per user, Todoist (connect, sync, cache, webhooks), and actions carried out
at a source (close on Done).
"""
