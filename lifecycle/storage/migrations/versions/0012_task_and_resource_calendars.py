"""task and resource calendars: the calendar a person or a task works on, task type and effort-driven

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 01:30:00

``people.calendar`` and ``tasks.calendar`` name one of the project calendar's resource calendars
(kept in the ``projects.calendar`` JSON, no column); ``tasks.ignore_resource_calendars``,
``tasks.task_type`` and ``tasks.effort_driven`` say how a task with people assigned is scheduled.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('calendar', sa.Text(), nullable=True))
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('calendar', sa.Text(), nullable=True))
        batch.add_column(sa.Column('ignore_resource_calendars', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('task_type', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('effort_driven', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('effort_driven')
        batch.drop_column('task_type')
        batch.drop_column('ignore_resource_calendars')
        batch.drop_column('calendar')
    with op.batch_alter_table('people') as batch:
        batch.drop_column('calendar')
