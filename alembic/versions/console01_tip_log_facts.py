"""tip log facts frozen at serve time: task priority, local hour, defaulted inputs

Revision ID: console01_tip_log_facts
Revises: learn01_propensities
Create Date: 2026-11-28 11:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import oo.models  # noqa: F401  (custom column types such as UTCDateTime)


# revision identifiers, used by Alembic.
revision: str = 'console01_tip_log_facts'
down_revision: Union[str, Sequence[str], None] = 'learn01_propensities'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('tip_view', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_priority', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('local_hour', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('imputed', sa.String(length=64), nullable=False, server_default='')
        )
        batch_op.create_index(
            'ix_tip_view_reacted_facts',
            ['served_at', 'reaction', 'user_id', 'policy', 'policy_version', 'task_priority', 'local_hour'],
            unique=False,
        )
    with op.batch_alter_table('tip_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_tip_feedback_created_origin', ['created_at', 'origin', 'user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('tip_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_feedback_created_origin')
    with op.batch_alter_table('tip_view', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_view_reacted_facts')
        batch_op.drop_column('imputed')
        batch_op.drop_column('local_hour')
        batch_op.drop_column('task_priority')
