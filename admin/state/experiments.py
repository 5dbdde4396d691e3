"""AdminExperimentsState: per-policy pulls and mean reward with interval, cohorts, bandit reset (A8)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import REFUSED, AdminPageMixin, text_rows
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import drift as admin_drift
from oo.services.admin import experiments as admin_experiments
from oo.services.admin import offpolicy as admin_offpolicy
from oo.services.admin import users as admin_users
from oo.services.admin.inputs import WINDOWS, AdminInputError, parse_int
from oo.state.auth import AuthState


class AdminExperimentsState(AdminPageMixin, AuthState):
    """The /admin/experiments page."""

    window: str = "7d"
    stats: list[dict[str, str]] = []
    cohorts: list[dict[str, str]] = []
    policy_fig: dict[str, Any] = {}
    cohort_fig: dict[str, Any] = {}
    offpolicy: list[dict[str, str]] = []
    observed: str = ""
    drift_warnings: list[str] = []
    drift_rows: list[dict[str, str]] = []
    shift_rows: list[dict[str, str]] = []

    def _reload(self, admin: CurrentUser | None = None) -> None:
        with session_scope() as session:
            data = admin_experiments.experiments(session=session, window=self.window)
        stats, cohorts = data["stats"], data["cohorts"]
        self.stats, self.cohorts = text_rows(stats), text_rows(cohorts)
        served = [r for r in stats if r["rewards"]]
        self.policy_fig = charts.as_json(
            charts.mean_ci(served, x="policy", title=f"Mean reward per policy ({self.window}, 95 % CI)")
        )
        self.cohort_fig = charts.as_json(
            charts.grouped_ci(cohorts, x="cohort", group="policy", title="Mean reward by signup cohort")
        )
        self._reload_offpolicy()

    def _reload_offpolicy(self) -> None:
        """Off-policy estimates per shadow (same window) and the drift monitor."""
        with session_scope() as session:
            ope = admin_offpolicy.cached_evaluation(session=session, window=self.window)
            drift = admin_drift.drift(session=session)
        self.offpolicy = [offpolicy_row(row) for row in ope["shadows"]]
        active = ope["active"]
        self.observed = (
            f"Tips as served ({', '.join(ope['served_by'])}): observed mean {_interval(active)} "
            f"over {ope['tips']} rewarded tips of {ope['users']} users"
            if active
            else "No rewarded tips with a logged propensity in this window."
        )
        self.drift_warnings = drift["warnings"]
        self.drift_rows = text_rows(drift["reward"]["policies"])
        self.shift_rows = text_rows(drift["features"]["features"][:8])

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then compute the stats."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            self._reload()
        except Exception:
            self._failed("experiments")
        return None

    @rx.event
    def set_window(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Recompute over another time window."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        window = form.get("window") if isinstance(form, dict) else None
        if window not in WINDOWS:
            self.error = f"Window must be one of {', '.join(WINDOWS)}."
            return None
        self.window, self.error = window, ""
        try:
            self._reload()
        except Exception:
            self._failed("experiments")
        return None

    @rx.event
    def ask_reset(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Ask before resetting one user's bandit."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            user_id = parse_int(form.get("user_id") if isinstance(form, dict) else None, "user id")
        except AdminInputError as exc:
            self.error = str(exc)
            return None
        self._ask(
            f"Reset every learned model of user {user_id}? Their next tips start cold.",
            action="bandit.reset",
            target=f"user:{user_id}",
            user_id=user_id,
        )
        return None

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        with session_scope() as session:
            n = admin_users.reset_bandit(session=session, admin_id=admin.id, user_id=pending["user_id"])
        return f"Reset user {pending['user_id']}'s bandit ({n} stored models deleted)."


def _interval(est: dict[str, Any] | None) -> str:
    if not est or est.get("value") is None:
        return "n/a"
    low, high = est.get("low"), est.get("high")
    span = f" [{low:+.3f}, {high:+.3f}]" if low is not None and high is not None else ""
    return f"{est['value']:+.3f}{span}"


def offpolicy_row(row: dict[str, Any]) -> dict[str, str]:
    """One shadow's estimates as table text."""
    return {
        "policy": str(row["policy"]),
        "tips": str(row["tips"]),
        "users": str(row["users"]),
        "agreement": f"{row['agreement']:.0%}",
        "ips": _interval(row.get("ips")),
        "snips": _interval(row.get("snips")),
        "dr": _interval(row.get("dr")),
        "note": str(row.get("note") or ""),
    }
