"""identity: users, sessions, API tokens, login attempts, client links

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 19:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _credential_table(name: str) -> None:
    op.create_table(name,
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('auth_method', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f(f'fk_{name}_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f(f'pk_{name}'))
    )
    op.create_index(f'ix_{name}_user_id', name, ['user_id'], unique=False)


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('global_roles', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    _credential_table('sessions')
    _credential_table('api_tokens')
    op.create_table('login_attempts',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_login_attempts'))
    )
    op.create_index('ix_login_attempts_key_at', 'login_attempts', ['key', 'at'], unique=False)
    op.create_table('client_links',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.String(length=120), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_client_links'))
    )


def downgrade() -> None:
    op.drop_table('client_links')
    op.drop_index('ix_login_attempts_key_at', table_name='login_attempts')
    op.drop_table('login_attempts')
    for name in ('api_tokens', 'sessions'):
        op.drop_index(f'ix_{name}_user_id', table_name=name)
        op.drop_table(name)
    op.drop_table('users')
