"""log propensities: tip_view.propensity, tip_score.served_probability

Revision ID: learn01_propensities
Revises: c789bd49d7b9
Create Date: 2026-11-28 10:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'learn01_propensities'
down_revision: Union[str, Sequence[str], None] = 'c789bd49d7b9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('tip_view', schema=None) as batch_op:
        batch_op.add_column(sa.Column('propensity', sa.Float(), nullable=True))
    with op.batch_alter_table('tip_score', schema=None) as batch_op:
        batch_op.add_column(sa.Column('served_probability', sa.Float(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('tip_score', schema=None) as batch_op:
        batch_op.drop_column('served_probability')
    with op.batch_alter_table('tip_view', schema=None) as batch_op:
        batch_op.drop_column('propensity')
