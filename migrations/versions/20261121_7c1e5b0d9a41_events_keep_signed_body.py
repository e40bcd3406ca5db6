"""Events keep the signed body as received; Stripe's created time may be unknown.

The payload becomes text holding exactly the bytes Stripe signed (decoded as UTF-8), so an
event is stored without re-serialising it and whatever it contains (PostgreSQL's JSON type
refuses some values a signed body can carry). `created` is NULL when the event's own
timestamp is malformed: the event is still kept, as failed, with its reason.
Receipt links that are not https are dropped: the receipt page links only to https.

Revision ID: 7c1e5b0d9a41
Revises: 2aad30479565
Create Date: 2026-11-21 10:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7c1e5b0d9a41'
down_revision = '2aad30479565'
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.alter_column('payload', existing_type=sa.JSON(), type_=sa.Text(),
                              existing_nullable=False,
                              postgresql_using='payload::text' if dialect == 'postgresql' else None)
        batch_op.alter_column('created', existing_type=sa.DateTime(timezone=True),
                              nullable=True)
    op.execute("UPDATE user_upgrades SET receipt_url = NULL "
               "WHERE receipt_url IS NOT NULL AND receipt_url NOT LIKE 'https://%'")


def downgrade():
    dialect = op.get_bind().dialect.name
    op.execute("UPDATE stripe_events SET created = received_at WHERE created IS NULL")
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.alter_column('created', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('payload', existing_type=sa.Text(), type_=sa.JSON(),
                              existing_nullable=False,
                              postgresql_using='payload::json' if dialect == 'postgresql' else None)
