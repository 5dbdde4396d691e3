"""Todoist as a task source: the connection (OAuth, encrypted token), sync, the task cache, webhooks."""
