"""AdminSqlState: the read-only SQL runner and saved queries (A13)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin.state.base import AdminPageMixin
from admin.state.guard import acting_admin, admin_event
from oo.db import session_scope
from oo.offload import slow
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import saved_queries as admin_saved_queries
from oo.services.admin import sql_runner as admin_sql
from oo.services.admin.inputs import AdminInputError
from oo.settings import get_settings
from oo.state.auth import AuthState


def _run(admin_id: int, sql: Any) -> admin_sql.QueryResult:
    settings = get_settings()
    with session_scope() as session:
        return admin_sql.run(
            session=session,
            admin_id=admin_id,
            sql=sql,
            database_url=settings.database_url,
            secret=settings.secret(),
        )


class AdminSqlState(AdminPageMixin, AuthState):
    """The /admin/sql runner."""

    sql: str = "SELECT reaction, count(*) AS tips FROM ro_tip_view GROUP BY reaction ORDER BY tips DESC"
    columns: list[str] = []
    result: list[list[str]] = []
    info: str = ""
    saved: list[dict[str, str]] = []

    def _reload(self, admin: CurrentUser | None = None) -> None:
        with session_scope() as session:
            self.saved = [
                {k: str(v) for k, v in q.items()} for q in admin_saved_queries.list_saved(session=session)
            ]

    @admin_event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then list the saved queries."""
        try:
            self._reload()
        except Exception:
            self._failed("saved queries")
        return None

    @admin_event
    async def run(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Run one read-only query (audited, refused ones included)."""
        admin = acting_admin()
        sql = form.get("sql") if isinstance(form, dict) else None
        self.error, self.info = "", ""
        if isinstance(sql, str):
            self.sql = sql[: admin_sql.MAX_SQL]
        try:
            result = await slow(_run, admin.id, sql)
        except AdminInputError as exc:
            self.error, self.columns, self.result = str(exc), [], []
            return None
        except Exception:
            self._failed("SQL run")
            return None
        self.columns, self.result = result.columns, result.rows
        more = f" (first {admin_sql.ROW_CAP} shown; more rows exist)" if result.truncated else ""
        self.info = f"{len(result.rows)} rows in {result.elapsed_ms:.0f} ms{more}"
        return None

    @admin_event
    def use_saved(self, query_id: str) -> rx.event.EventSpec | None:
        """Put a saved query into the editor."""
        try:
            with session_scope() as session:
                self.sql = admin_saved_queries.get(session=session, query_id=query_id).sql
        except AdminInputError as exc:
            self.error = str(exc)
        return None

    @admin_event
    def ask_save(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Ask before saving the query last run under a name (replacing one of that name)."""
        name = form.get("name") if isinstance(form, dict) else None
        if not isinstance(name, str) or not name.strip():
            self.error = "Give the query a name."
            return None
        name = name.strip()[:100]
        self._ask(
            f"Save the query last run as “{name}”?",
            action="sql.save",
            target=f"query:{name}",
            name=name,
            sql=self.sql,
        )
        return None

    @admin_event
    def ask_delete(self, query_id: str) -> rx.event.EventSpec | None:
        """Ask before deleting a saved query."""
        try:
            with session_scope() as session:
                row = admin_saved_queries.get(session=session, query_id=query_id)
        except AdminInputError as exc:
            self.error = str(exc)
            return None
        self._ask(
            f"Delete the saved query “{row.name}”?",
            action="sql.delete",
            target=f"query:{row.name}",
            query_id=row.id,
        )
        return None

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        with session_scope() as session:
            if pending["action"] == "sql.save":
                row = admin_saved_queries.save(
                    session=session, admin_id=admin.id, name=pending["name"], sql=pending["sql"]
                )
                return f"Saved “{row.name}”."
            name = admin_saved_queries.delete(
                session=session, admin_id=admin.id, query_id=pending["query_id"]
            )
            return f"Deleted “{name}”."
