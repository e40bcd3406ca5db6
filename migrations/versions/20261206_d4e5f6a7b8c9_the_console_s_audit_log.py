"""The console's audit log: one row per action an operator took (who, what, whom, when,
the reason typed, the result).

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-12-06 21:00:00

"""
from alembic import op
import sqlalchemy as sa



revision = 'd4e5f6a7b8c9'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=True),
        sa.Column('object_id', sa.String(length=255), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('outcome', sa.Enum('started', 'ok', 'refused', 'failed', name='outcome',
                                     native_enum=False, length=20), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_audit_entries_actor_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['subject_id'], ['users.id'],
                                name=op.f('fk_audit_entries_subject_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_subject_id'), ['subject_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_created_at'), ['created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_subject_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_id'))
    op.drop_table('audit_entries')
