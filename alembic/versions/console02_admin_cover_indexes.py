"""covering indexes for the admin console: sampled tip-log reads, shadow join, pulls per policy, funnel probes

Revision ID: console02_admin_cover_indexes
Revises: moment01_task_length
Create Date: 2026-11-28 14:05:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'console02_admin_cover_indexes'
down_revision: Union[str, Sequence[str], None] = 'moment01_task_length'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID_COVER = [
    'id', 'served_at', 'reaction', 'policy', 'policy_version', 'fallback', 'user_id', 'task_id',
    'task_priority', 'local_hour',
]


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('tip_view', schema=None) as batch_op:
        batch_op.create_index('ix_tip_view_id_cover', ID_COVER, unique=False)
        batch_op.create_index(
            'ix_tip_view_policy_group',
            ['policy', 'policy_version', 'fallback', 'reaction', 'served_at'],
            unique=False,
        )
        batch_op.create_index('ix_tip_view_user_channel', ['user_id', 'channel', 'task_id'], unique=False)
    with op.batch_alter_table('tip_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_tip_feedback_user_origin', ['user_id', 'origin'], unique=False)
    with op.batch_alter_table('tip_score', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tip_score_request_cover',
            ['request_id', 'role', 'policy', 'policy_version', 'task_id'],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('tip_score', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_score_request_cover')
    with op.batch_alter_table('tip_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_feedback_user_origin')
    with op.batch_alter_table('tip_view', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_view_user_channel')
        batch_op.drop_index('ix_tip_view_policy_group')
        batch_op.drop_index('ix_tip_view_id_cover')
