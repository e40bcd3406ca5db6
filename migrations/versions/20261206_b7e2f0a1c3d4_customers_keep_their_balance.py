"""Stripe customers' balance kept locally (a credit left by a switch to a cheaper plan is
taken off the next invoice, so the next payment the pages state takes it off too).

Revision ID: b7e2f0a1c3d4
Revises: a9d3c4e5f601
Create Date: 2026-12-06 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e2f0a1c3d4'
down_revision = 'a9d3c4e5f601'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_info', schema=None) as batch_op:
        batch_op.add_column(sa.Column('balance', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('balance_currency', sa.String(length=3), nullable=True))


def downgrade():
    with op.batch_alter_table('billing_info', schema=None) as batch_op:
        batch_op.drop_column('balance_currency')
        batch_op.drop_column('balance')
