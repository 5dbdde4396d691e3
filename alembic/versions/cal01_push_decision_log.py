"""push timing decision log (push_decision)

Revision ID: cal01_push_decision
Revises: advice01
Create Date: 2026-11-28 10:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import oo.models  # noqa: F401  (custom column types such as UTCDateTime)
import sqlmodel

revision: str = 'cal01_push_decision'
down_revision: Union[str, Sequence[str], None] = 'advice01'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('push_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', oo.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('policy', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('send', sa.Boolean(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('local_hour', sa.Integer(), nullable=False),
    sa.Column('context', sa.Text(), server_default='{}', nullable=False),
    sa.Column('tip_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('delivered', sa.Boolean(), nullable=True),
    sa.Column('opened_at', oo.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reaction', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('reacted_via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('reacted_at', oo.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reward', sa.Float(), nullable=True),
    sa.Column('settled_at', oo.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('push_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_decision_tip_id'), ['tip_id'], unique=False)
        batch_op.create_index('ix_push_decision_user_time', ['user_id', 'decided_at'], unique=False)
        batch_op.create_index('ix_push_decision_time', ['decided_at'], unique=False)
        batch_op.create_index('ix_push_decision_unsettled', ['user_id', 'settled_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('push_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_push_decision_unsettled')
        batch_op.drop_index('ix_push_decision_time')
        batch_op.drop_index('ix_push_decision_user_time')
        batch_op.drop_index(batch_op.f('ix_push_decision_tip_id'))
    op.drop_table('push_decision')
