"""documents stored in the database, and document revisions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 22:30:00

Documents get ``revision`` (1 for the document as first issued, 2, 3 … for an explicit re-issue under
the same number; number and revision are unique per project). ``document_files`` holds each issued
document's bytes with their sha256 and size, written in the transaction that registers the document,
so any machine using the database can serve and verify it without the issuing machine's disk.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='1'))
        batch.create_unique_constraint(
            'uq_documents_project_number_revision', ['project_id', 'number', 'revision']
        )
    op.create_table(
        'document_files',
        sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('document_pk', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['document_pk'],
            ['documents.pk'],
            name=op.f('fk_document_files_document_pk_documents'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('pk', name=op.f('pk_document_files')),
        sa.UniqueConstraint('document_pk', name=op.f('uq_document_files_document_pk')),
    )


def downgrade() -> None:
    op.drop_table('document_files')
    with op.batch_alter_table('documents') as batch:
        batch.drop_constraint('uq_documents_project_number_revision', type_='unique')
        batch.drop_column('revision')
