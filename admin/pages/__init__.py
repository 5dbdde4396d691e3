"""Admin pages, one module per route; re-exported for `admin.register`."""

from .advice import advice_page
from .audit import audit_page
from .events import events_page
from .experiments import experiments_page
from .features import features_page
from .glossary import glossary_page
from .health import health_page
from .ops import ops_page
from .overview import overview_page
from .policies import policies_page
from .push_timing import push_page
from .quality import quality_page
from .recommendations import recommendations_page
from .rewards import rewards_page
from .sql import sql_page
from .users import users_page

__all__ = [
    "advice_page",
    "audit_page",
    "events_page",
    "experiments_page",
    "features_page",
    "glossary_page",
    "health_page",
    "ops_page",
    "overview_page",
    "policies_page",
    "push_page",
    "quality_page",
    "recommendations_page",
    "rewards_page",
    "sql_page",
    "users_page",
]
