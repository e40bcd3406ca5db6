"""Invoices kept for the billing history: one row per Stripe invoice of ours (ids, amounts,
dates, status, the card's display summary, Stripe's links), so the page never asks Stripe.

Revision ID: c3d4e5f6a7b8
Revises: b7e2f0a1c3d4
Create Date: 2026-12-06 20:00:00

"""
from alembic import op
import sqlalchemy as sa



revision = 'c3d4e5f6a7b8'
down_revision = 'b7e2f0a1c3d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'invoices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('stripe_invoice_id', sa.String(length=255), nullable=False),
        sa.Column('stripe_subscription_id', sa.String(length=255), nullable=True),
        sa.Column('number', sa.String(length=64), nullable=True),
        sa.Column('billing_reason', sa.String(length=40), nullable=True),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('tax', sa.Integer(), nullable=False),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('amount_due', sa.Integer(), nullable=False),
        sa.Column('amount_paid', sa.Integer(), nullable=False),
        sa.Column('amount_refunded', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('needs_action', sa.Boolean(), nullable=False),
        sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
        sa.Column('card_brand', sa.String(length=32), nullable=True),
        sa.Column('card_last4', sa.String(length=4), nullable=True),
        sa.Column('hosted_invoice_url', sa.String(length=2048), nullable=True),
        sa.Column('invoice_pdf', sa.String(length=2048), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invoices_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
        sa.UniqueConstraint('stripe_invoice_id', name=op.f('uq_invoices_stripe_invoice_id')),
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_stripe_payment_intent_id'),
                              ['stripe_payment_intent_id'], unique=False)


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_stripe_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_user_id'))
    op.drop_table('invoices')
