"""A person's control over their data: deletion of the account and everything derived from it.

Sits above the other use cases (it reaches every table and source), so nothing else imports it.
"""
