"""custom fields, rule-pack params, and phase/tags/kind on items

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 20:30:00

Projects get ``params`` and ``custom`` (JSON); tasks, deliverables, lessons and status reports get
``phase`` and ``tags``; status reports ``kind``; those and risks, issues, milestones, requirements
and change requests get ``custom`` (JSON).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_PHASED = ('tasks', 'deliverables', 'lessons', 'status_reports')
_CUSTOM = _PHASED + ('risks', 'issues', 'milestones', 'requirements', 'change_requests')


def upgrade() -> None:
    with op.batch_alter_table('projects') as batch:
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('custom', sa.JSON(), nullable=True))
    for table in _CUSTOM:
        with op.batch_alter_table(table) as batch:
            if table == 'status_reports':
                batch.add_column(sa.Column('kind', sa.Text(), nullable=True))
            if table in _PHASED:
                batch.add_column(sa.Column('phase', sa.Text(), nullable=True))
                batch.add_column(sa.Column('tags', sa.JSON(), nullable=True))
            batch.add_column(sa.Column('custom', sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in _CUSTOM:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('custom')
            if table in _PHASED:
                batch.drop_column('tags')
                batch.drop_column('phase')
            if table == 'status_reports':
                batch.drop_column('kind')
    with op.batch_alter_table('projects') as batch:
        batch.drop_column('custom')
        batch.drop_column('params')
