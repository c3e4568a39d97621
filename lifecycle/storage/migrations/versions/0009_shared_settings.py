"""shared settings: the settings every worker reads, pushed by `pmo settings push`

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 22:40:00

One append-only row per push (hash-chained): SMTP, webhook, signing references, base URL, documents
store and supplier, secrets only as the names of environment variables.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shared_settings',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_shared_settings'))
    )


def downgrade() -> None:
    op.drop_table('shared_settings')
