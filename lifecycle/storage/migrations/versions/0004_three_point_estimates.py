"""three-point estimates and progress history on tasks (optimistic and pessimistic working days, dated
percent complete)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 20:30:00

Chained after 0002 because 0003 was not in main when this was written; if 0003 exists, it must revise
0003 instead (one head).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tasks', sa.Column('optimistic_days', sa.Float(), nullable=True))
    op.add_column('tasks', sa.Column('pessimistic_days', sa.Float(), nullable=True))
    op.add_column('tasks', sa.Column('progress', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('progress')
        batch.drop_column('pessimistic_days')
        batch.drop_column('optimistic_days')
