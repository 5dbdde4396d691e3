"""task length in minutes (the source's duration or an estimate), for calendar-aware picks

Revision ID: moment01_task_length
Revises: harden01_api_token_expiry
Create Date: 2026-11-28 13:55:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "moment01_task_length"
down_revision: Union[str, Sequence[str], None] = "harden01_api_token_expiry"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("length_minutes", sa.Float(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("length_minutes")
