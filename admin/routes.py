"""Admin console paths and the sidebar's order (every page lives under /admin)."""

OVERVIEW = "/admin"
USERS = "/admin/users"
EVENTS = "/admin/events"
FEATURES = "/admin/features"
POLICIES = "/admin/policies"
EXPERIMENTS = "/admin/experiments"
RECOMMENDATIONS = "/admin/recommendations"
REWARDS = "/admin/rewards"
PUSH = "/admin/push"
QUALITY = "/admin/quality"
OPS = "/admin/ops"
SQL = "/admin/sql"
HEALTH = "/admin/health"
AUDIT = "/admin/audit"
GLOSSARY = "/admin/glossary"
ADVICE = "/admin/advice"
FORBIDDEN = "/admin/forbidden"
SIGNIN = "/signin"

# (label, path, lucide icon) in sidebar order.
NAV = (
    ("Overview", OVERVIEW, "layout-dashboard"),
    ("Users", USERS, "users"),
    ("Event stream", EVENTS, "activity"),
    ("Features", FEATURES, "list-tree"),
    ("Policies", POLICIES, "git-branch"),
    ("Experiments", EXPERIMENTS, "flask-conical"),
    ("Recommendations", RECOMMENDATIONS, "scroll-text"),
    ("Rewards", REWARDS, "trending-up"),
    ("Push timing", PUSH, "bell"),
    ("Data quality", QUALITY, "shield-check"),
    ("Ops actions", OPS, "wrench"),
    ("SQL", SQL, "database"),
    ("Health", HEALTH, "heart-pulse"),
    ("Audit log", AUDIT, "book-open"),
    ("Glossary", GLOSSARY, "book-a"),
    ("Advice", ADVICE, "lightbulb"),
)
