"""Admin console: the data load of every page at volume must stay within 200 ms.

Each measurement is what the page's ``load`` handler does on the server: the same service calls
and the same chart building, on a database seeded by ``scripts/seed_admin_volume.py`` (10,000
users, 1,000,000 events, 100,000 tips). The browser's rendering is not included.

    .venv/bin/python scripts/seed_admin_volume.py               # once: data/admin_bench.db (~90 s)
    .venv/bin/python bench/admin_pages.py                       # ~30 s; --runs N, --url URL

Indexes of the models (the migrations' head) that the bench database lacks, e.g. one seeded
before a migration added them, are created first and listed in the output.
Exit status 1 when a page's median is over the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from admin import charts  # noqa: E402
from oo.bus import create_bus  # noqa: E402
from oo.db import make_engine  # noqa: E402
from oo.services.admin import audit as admin_audit  # noqa: E402
from oo.services.admin import event_stream as admin_events  # noqa: E402
from oo.services.admin import experiments as admin_experiments  # noqa: E402
from oo.services.admin import features as admin_features  # noqa: E402
from oo.services.admin import health as admin_health  # noqa: E402
from oo.services.admin import overview as admin_overview  # noqa: E402
from oo.services.admin import policies as admin_policies  # noqa: E402
from oo.services.admin import quality as admin_quality  # noqa: E402
from oo.services.admin import recommendation_log as admin_reclog  # noqa: E402
from oo.services.admin import rewards as admin_rewards  # noqa: E402
from oo.services.admin import saved_queries as admin_saved_queries  # noqa: E402
from oo.services.admin import sql_runner as admin_sql  # noqa: E402
from oo.services.admin import users as admin_users  # noqa: E402

BUDGET_MS = 200.0
DEFAULT_URL = f"sqlite:///{ROOT / 'data' / 'admin_bench.db'}"


def page_loads(session: Session, url: str) -> dict[str, Callable[[], Any]]:
    """One callable per page (and per heavy variant): exactly what its load handler computes."""
    bus = create_bus(None)
    asyncio.run(bus.start())
    busiest = session.exec(
        sa.text("SELECT user_id FROM tip_view GROUP BY user_id ORDER BY count(*) DESC LIMIT 1")
    ).one()[0]

    def overview() -> None:
        o = admin_overview.overview(session=session)
        charts.as_json(charts.bars(o.funnel, x="users", y="step", title="f", horizontal=True))
        charts.as_json(charts.pie(o.reactions, label="reaction", value="count", title="r"))
        charts.as_json(charts.lines(o.daily, x="day", series=["tips served", "active users"], title="d"))

    def events() -> None:
        admin_events.live()
        admin_events.history(session=session, since="24h", page_size=25)
        charts.as_json(
            charts.stacked(
                admin_events.hourly_counts(session=session),
                x="hour",
                stack="subject",
                value="count",
                title="e",
            )
        )

    def features() -> None:
        uid = admin_features.latest_user(session=session)
        admin_features.scoring_calls(session=session, user_id=uid)
        charts.as_json(
            charts.feature_lines(
                admin_features.feature_series(session=session, user_id=uid, limit=100), title="f"
            )
        )

    def experiments(window: str) -> Callable[[], None]:
        def run() -> None:
            data = admin_experiments.experiments(session=session, window=window)
            stats, cohorts = data["stats"], data["cohorts"]
            charts.as_json(charts.mean_ci([r for r in stats if r["rewards"]], x="policy", title="p"))
            charts.as_json(charts.grouped_ci(cohorts, x="cohort", group="policy", title="c"))

        return run

    def rewards(window: str) -> Callable[[], None]:
        def run() -> None:
            data = admin_rewards.analytics(session=session, window=window)
            charts.as_json(charts.stacked(data["daily"], x="day", stack="reaction", value="count", title="d"))
            for name in ("daily_mean", "policy", "hour", "priority", "cohort"):
                charts.as_json(
                    charts.mean_ci(data[name], x="day" if name == "daily_mean" else name, title=name)
                )

        return run

    def quality() -> None:
        defaulted = admin_quality.defaulted_inputs(session=session)
        admin_quality.stale_tokens(session=session)
        charts.as_json(
            charts.bars(
                [{"f": k, "m": v} for k, v in defaulted["per_reason"].items()],
                x="f",
                y="m",
                title="m",
                percent=True,
            )
        )
        charts.as_json(
            charts.heatmap(
                admin_quality.completeness(session=session), x="day", y="field", value="share", title="h"
            )
        )

    return {
        "overview": overview,
        "users (list)": lambda: admin_users.search_users(session=session),
        "users (search)": lambda: admin_users.search_users(session=session, query="user42"),
        "users (detail)": lambda: admin_users.user_detail(session=session, user_id=busiest),
        "events": events,
        "features": features,
        "policies": lambda: admin_policies.list_policies(session=session),
        "experiments 7d": experiments("7d"),
        "experiments 30d": experiments("30d"),
        "recommendations": lambda: admin_reclog.search(session=session),
        "recommendations (user)": lambda: admin_reclog.search(session=session, user_id=busiest, window="30d"),
        "rewards 7d": rewards("7d"),
        "rewards 30d": rewards("30d"),
        "quality": quality,
        "ops": lambda: (
            admin_policies.list_policies(session=session),
            admin_events.history(session=session, since="all", page_size=10),
        ),
        "sql (saved list)": lambda: admin_saved_queries.list_saved(session=session),
        "sql (tips per policy)": lambda: admin_sql.run_query(
            database_url=url, sql="SELECT policy, count(*) FROM ro_tip_view GROUP BY policy", secret="bench"
        ),
        "health": lambda: admin_health.checks(session=session, bus=bus, scheduler_status={"running": False}),
        "audit": lambda: admin_audit.list_actions(session=session),
    }


def model_indexes(engine: sa.Engine) -> list[str]:
    """Create every table and index of the models (the migrations' head) the database lacks; their names."""
    created = []
    with engine.begin() as conn:
        for name, table in SQLModel.metadata.tables.items():
            if not sa.inspect(conn).has_table(name):
                table.create(conn)
                created.append(name)
        existing = {
            t: {ix["name"] for ix in sa.inspect(conn).get_indexes(t)} for t in SQLModel.metadata.tables
        }
        for name, table in SQLModel.metadata.tables.items():
            for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                if index.name not in existing.get(name, set()) and sa.inspect(conn).has_table(name):
                    index.create(conn)
                    created.append(str(index.name))
    return created


def measure(url: str, runs: int = 5) -> dict[str, tuple[float, float, float]]:
    """(first, median, max) milliseconds per page: the first call, then ``runs`` more.

    The first call also fills the page cache and, on a fresh database, rolls up the days that are
    over (`services/admin/activity.py`); the budget applies to the median. Missing model tables
    and indexes are created first.
    """
    engine = make_engine(url)
    created = model_indexes(engine)
    if created:
        print(f"created the models' tables and indexes the bench database lacked: {', '.join(created)}")
    out = {}
    with Session(engine) as session:
        for name, load in page_loads(session, url).items():
            start = time.perf_counter()
            load()  # warm-up
            first = (time.perf_counter() - start) * 1000
            session.rollback()
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                load()
                times.append((time.perf_counter() - start) * 1000)
                session.rollback()  # end the read transaction, as each handler's own session does
            out[name] = (first, statistics.median(times), max(times))
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the table; exit 1 when a median is over budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--drop-indexes", default="", help="comma-separated index names to drop, then exit (a 'before' run)"
    )
    args = parser.parse_args(argv)
    if args.drop_indexes:
        engine = make_engine(args.url)
        with engine.begin() as conn:
            for name in filter(None, args.drop_indexes.split(",")):
                conn.execute(sa.text(f'DROP INDEX IF EXISTS "{name.strip()}"'))
        print(f"dropped (if present): {args.drop_indexes}")
        return 0
    if args.url.startswith("sqlite:///") and not Path(args.url.split(":///", 1)[1]).exists():
        print("no bench database: run `.venv/bin/python scripts/seed_admin_volume.py` first", file=sys.stderr)
        return 2
    print(args.url)
    results = measure(args.url, args.runs)
    print(f"{'page':26s} {'first ms':>9s} {'median ms':>10s} {'max ms':>8s}")
    over = []
    for name, (first, median, worst) in results.items():
        flag = "" if median <= BUDGET_MS else "  OVER BUDGET"
        print(f"{name:26s} {first:9.1f} {median:10.1f} {worst:8.1f}{flag}")
        if flag:
            over.append(name)
    print(
        f"budget {BUDGET_MS:.0f} ms per page load: "
        + ("all within" if not over else f"over: {', '.join(over)}")
    )
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
