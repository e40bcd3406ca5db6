"""User upgrades: one-time Gold / Platinum / Gold-to-Platinum purchases and gifts, with their Stripe ids.

Revision ID: 2aad30479565
Revises: 631d26f65939
Create Date: 2026-11-21 05:36:30.775918

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2aad30479565'
down_revision = '631d26f65939'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_upgrades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchaser_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('gold', 'platinum', 'gold_to_platinum', name='upgradetype', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('pending', 'processing', 'complete', 'failed', 'expired', 'refunded', name='upgradestatus', native_enum=False, length=20), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('level_before', sa.Enum('member', 'gold', 'platinum', name='level', native_enum=False, length=20), nullable=False),
    sa.Column('stripe_checkout_session_id', sa.String(length=255), nullable=True),
    sa.Column('checkout_url', sa.Text(), nullable=True),
    sa.Column('checkout_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_charge_id', sa.String(length=255), nullable=True),
    sa.Column('receipt_url', sa.Text(), nullable=True),
    sa.Column('amount_refunded', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['purchaser_id'], ['users.id'], name=op.f('fk_user_upgrades_purchaser_id_users')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_user_upgrades_recipient_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_upgrades')),
    sa.UniqueConstraint('stripe_checkout_session_id', name=op.f('uq_user_upgrades_stripe_checkout_session_id')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_user_upgrades_stripe_payment_intent_id'))
    )
    with op.batch_alter_table('user_upgrades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_upgrades_purchaser_id'), ['purchaser_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_upgrades_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_upgrades_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_upgrades_stripe_charge_id'), ['stripe_charge_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_upgrades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_upgrades_stripe_charge_id'))
        batch_op.drop_index(batch_op.f('ix_user_upgrades_status'))
        batch_op.drop_index(batch_op.f('ix_user_upgrades_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_user_upgrades_purchaser_id'))

    op.drop_table('user_upgrades')
