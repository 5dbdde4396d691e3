"""Where tasks come from: the catalog of sources per user, Todoist (connect, sync, cache, webhooks),
and actions carried out at a source (close on Done)."""
