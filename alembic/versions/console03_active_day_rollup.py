"""the console's activity rollup: active people per UTC day, and the days rolled up

Revision ID: console03_active_day_rollup
Revises: console02_admin_cover_indexes
Create Date: 2026-11-28 16:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa

import oo.models.columns
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'console03_active_day_rollup'
down_revision: str | Sequence[str] | None = 'console02_admin_cover_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'active_day',
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('last_at', oo.models.columns.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('day', 'user_id'),
    )
    op.create_table(
        'active_day_rollup',
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('rolled_at', oo.models.columns.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('active_day_rollup')
    op.drop_table('active_day')
