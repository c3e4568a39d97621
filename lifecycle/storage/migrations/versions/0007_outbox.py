"""e-mail outbox: one row per document and recipient set, written before the SMTP transaction

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:30:00

A row holds the Message-ID and the state of the send (pending, sending, sent, failed, uncertain), so a
send interrupted after the server accepted the message is found ``sending`` and never repeated blindly.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=120), nullable=False),
    sa.Column('number', sa.String(length=120), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.pk'], name=op.f('fk_outbox_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    op.create_index('ix_outbox_project_id_state', 'outbox', ['project_id', 'state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_project_id_state', table_name='outbox')
    op.drop_table('outbox')
