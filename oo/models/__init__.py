"""Database tables (SQLModel), one module per area; import them from here (``from oo.models import Task``).

Every datetime is timezone-aware UTC; SQLite gets it back aware too (`columns.UTCDateTime`).
Importing this package registers every table on ``SQLModel.metadata`` (Alembic's ``env.py`` does).
"""

from oo.models.columns import DEMO, TODOIST, UTCDateTime, json_text_field, table, timestamp_field, utcnow
from oo.models.ops import (
    ActiveDay,
    ActiveDayRollup,
    AdminAction,
    EventRecord,
    PushDecision,
    PushSubscription,
    SavedQuery,
)
from oo.models.people import ApiToken, Consent, LoginFlow, User, UserSession
from oo.models.sources import Integration, SourceAction, Task, WebhookDelivery
from oo.models.tips import Advice, ModelState, Policy, TipFeedback, TipScore, TipView

__all__ = [
    "DEMO",
    "TODOIST",
    "ActiveDay",
    "ActiveDayRollup",
    "AdminAction",
    "Advice",
    "ApiToken",
    "Consent",
    "EventRecord",
    "Integration",
    "LoginFlow",
    "ModelState",
    "Policy",
    "PushDecision",
    "PushSubscription",
    "SavedQuery",
    "SourceAction",
    "Task",
    "TipFeedback",
    "TipScore",
    "TipView",
    "UTCDateTime",
    "User",
    "UserSession",
    "WebhookDelivery",
    "json_text_field",
    "table",
    "timestamp_field",
    "utcnow",
]
