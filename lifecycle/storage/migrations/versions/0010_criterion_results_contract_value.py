"""criterion results and the contract value

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:30:00

A table ``criterion_results`` (one verification of a deliverable's acceptance criterion: measured
value, target, method, evidence, verifier, date, result) and the charter's ``contract_value`` on
``projects``.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects') as batch:
        batch.add_column(sa.Column('contract_value', sa.Numeric(precision=18, scale=2), nullable=True))
    op.create_table('criterion_results',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('deliverable', sa.Text(), nullable=True),
    sa.Column('criterion', sa.Text(), nullable=True),
    sa.Column('result', sa.String(length=40), nullable=True),
    sa.Column('measured', sa.Text(), nullable=True),
    sa.Column('unit', sa.Text(), nullable=True),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('method', sa.Text(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('verifier', sa.Text(), nullable=True),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('automated', sa.Boolean(), nullable=True),
    sa.Column('quality_check', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.pk'], name=op.f('fk_criterion_results_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_criterion_results')),
    sa.UniqueConstraint('project_id', 'key', name='uq_criterion_results_project_key')
    )


def downgrade() -> None:
    op.drop_table('criterion_results')
    with op.batch_alter_table('projects') as batch:
        batch.drop_column('contract_value')
