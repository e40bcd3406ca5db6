"""Credit moves recorded on both sides: a subscription knows up to when it had been paid
before credit moved its next charge, and each ledger row names the Stripe subscription it
moved and the date the charge moved to.

Revision ID: a9d3c4e5f601
Revises: 3cc51fc55fd8
Create Date: 2026-12-06 17:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a9d3c4e5f601'
down_revision = '3cc51fc55fd8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('credit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_subscription_id', sa.String(length=255),
                                      nullable=True))
        batch_op.add_column(sa.Column('charge_moved_to', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('credit_entries', schema=None) as batch_op:
        batch_op.drop_column('charge_moved_to')
        batch_op.drop_column('stripe_subscription_id')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('paid_until')
