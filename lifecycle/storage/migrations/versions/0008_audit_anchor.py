"""audit events carry the state they produced and a keyed MAC

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:30:00

``audit_events`` gets ``state`` (JSON: a hash per audited part of the project after the write),
``state_hash`` (over ``state``) and ``mac`` (HMAC-SHA256 of the chain hash and the state hash with
the workspace's audit key, kept outside the database). Events written before stay without them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('state', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('state_hash', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('mac', sa.String(length=64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_column('mac')
        batch.drop_column('state_hash')
        batch.drop_column('state')
