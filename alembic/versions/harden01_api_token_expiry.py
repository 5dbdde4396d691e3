"""api token expiry

Revision ID: harden01_api_token_expiry
Revises: cal01_push_decision
Create Date: 2026-11-28 11:10:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import oo.models  # noqa: F401  (custom column types such as UTCDateTime)


# revision identifiers, used by Alembic.
revision: str = "harden01_api_token_expiry"
down_revision: Union[str, Sequence[str], None] = "cal01_push_decision"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", oo.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
