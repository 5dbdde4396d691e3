"""Pages, one module per route; re-exported for the composition root."""

from .connect import connect_page
from .legal import privacy_page, terms_page
from .not_found import not_found_page
from .signin import signin_page
from .tip import tip_page

__all__ = ["connect_page", "not_found_page", "privacy_page", "signin_page", "terms_page", "tip_page"]
