"""an index on the user's tips by source and time: a pick reads the user's recent advice only

Revision ID: advice02_user_source_index
Revises: console03_active_day_rollup
Create Date: 2026-11-28 19:20:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'advice02_user_source_index'
down_revision: str | Sequence[str] | None = 'console03_active_day_rollup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_tip_view_user_source_served', 'tip_view', ['user_id', 'source', 'served_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_tip_view_user_source_served', table_name='tip_view')
