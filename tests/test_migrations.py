"""The schema is built only by migrations, and migrations never drift from the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db


def test_migrations_match_models(app):
    # The session fixture built this database from an empty one with `flask db upgrade`.
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_database_enforces_case_insensitive_usernames(app):
    from sqlalchemy.exc import IntegrityError

    from app.auth.models import User

    with app.app_context():
        db.session.add(User(email="a@example.com", username="Sam", password_hash="x"))
        db.session.add(User(email="b@example.com", username="sAM", password_hash="x"))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
        else:
            raise AssertionError("two users share a username differing only in case")
