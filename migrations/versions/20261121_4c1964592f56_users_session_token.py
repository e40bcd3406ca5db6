"""Users' session token: a new password logs out every other browser

Revision ID: 4c1964592f56
Revises: b826b2dd1f98
Create Date: 2026-11-21 13:40:41.070362

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4c1964592f56'
down_revision = 'b826b2dd1f98'
branch_labels = None
depends_on = None


def upgrade():
    # Existing users get a token too: add the column empty, fill it, then require it.
    # (Sessions from before hold a bare id, which the app no longer accepts: everyone
    # logs in once more.)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(sa.update(users).where(users.c.id == user_id)
                           .values(session_token=_new_token()))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64),
                              nullable=False)
    if connection.dialect.name == "sqlite":
        # SQLite's batch mode rebuilt the table without the expression index it cannot
        # reflect: usernames must stay unique whatever their case.
        op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')],
                        unique=True)


def _new_token():
    """A session token as app/auth/models.py makes them (copied: a migration must not
    change when the app's code does)."""
    import secrets

    return secrets.token_urlsafe(16)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
    if op.get_bind().dialect.name == "sqlite":  # rebuilt again: see upgrade()
        op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')],
                        unique=True)
