"""What both SQL runners share: the limits, the secret columns never shown, the result and refusal types.

`oo.services.admin.sql_runner` (SQLite, and the entry point) and `oo.services.admin.sql_runner_pg`
(PostgreSQL) both import this module, so neither imports the other at module level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oo.services.admin.inputs import AdminInputError

ROW_CAP = 500
TIME_LIMIT = 5.0
MAX_SQL = 10_000
CELL_CHARS = 300

# Never shown, even to admins (tokens, push capabilities, session and API token hashes).
SECRET_COLUMNS = {
    "integration": {"credentials", "sync_token"},
    "push_subscription": {"data", "endpoint_hash"},
    "user_session": {"token_hash"},
    "api_token": {"token_hash"},
}
SECRET_TABLES = {"login_flow"}


class SqlRefused(AdminInputError):
    """The database refused the query, or it ran out of time; the message says why."""


@dataclass(frozen=True)
class QueryResult:
    """Columns, up to the row cap of rows (cells as text), and whether more rows existed."""

    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    truncated: bool = False
    elapsed_ms: float = 0.0


def cell(value: Any) -> str:
    """One result cell as display text (NULL, byte counts, long text cut)."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"
