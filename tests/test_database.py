"""The suite runs on PostgreSQL when TEST_DATABASE_URL points at one (as CI does)."""

import os

import pytest

from app.extensions import db
from tests.conftest import need


@pytest.mark.postgres
def test_runs_on_postgresql(app):
    need(bool(os.environ.get("TEST_DATABASE_URL")), "TEST_DATABASE_URL is not set")
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.session.execute(db.text("select 1")).scalar() == 1
