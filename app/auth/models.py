"""The user account."""

import enum
import re
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import Model, db
from app.ids import MAX_ID
from app.referrals.codes import new_code
from app.text import control_character

# Zero, except in tests that move the Stripe emulator's clock and ours with it
# (tests/mail_fixtures.py, app_clock): then a grace period or a queued job falls due as
# it would at Stripe.
CLOCK_OFFSET = timedelta(0)


def utcnow() -> datetime:
    """The app's one "now": every date it compares or stores comes from here."""
    return datetime.now(UTC) + CLOCK_OFFSET


def days_left(until: datetime, now: datetime) -> int:
    """Whole days remaining, rounding up (a trial ending tomorrow morning has 1 day left)."""
    seconds = (until - now).total_seconds()
    return max(0, int(-(-seconds // 86_400)))


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite returns naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None,
                           dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use utcnow() or an aware datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None,
                             dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Level(enum.Enum):
    """Account levels, in ascending order. Levels come from one-time upgrades and never expire."""

    MEMBER = "member"
    GOLD = "gold"
    PLATINUM = "platinum"

    @property
    def rank(self) -> int:
        return list(Level).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()

    def __lt__(self, other: "Level") -> bool:
        return self.rank < other.rank

    def __le__(self, other: "Level") -> bool:
        return self.rank <= other.rank

    @classmethod
    def parse(cls, text: str) -> "Level":
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(level.value for level in cls)
            raise ValueError(f"Unknown level {text!r}; expected one of {names}.") from None


def new_session_token() -> str:
    return secrets.token_urlsafe(16)


def enum_column(enum_cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A portable enum column storing the member values (no native database enum)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class User(UserMixin, Model):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Stored lower-cased, so lookups by email are exact matches.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(32))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    level: so.Mapped[Level] = so.mapped_column(enum_column(Level), default=Level.MEMBER)
    is_admin: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime(), default=utcnow
    )
    # The user's referral link is /r/<referral_code> (app/referrals).
    referral_code: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True,
                                                     default=new_code)
    # Premium from referral credit (and admin grants) until then; the ledger says why.
    credit_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Part of every session's and "remember me" cookie's user id (see get_id): a new one
    # logs out every browser still holding the old.
    session_token: so.Mapped[str] = so.mapped_column(sa.String(64), default=new_session_token)

    # Usernames are unique whatever their case: gifts find recipients by username.
    __table_args__ = (
        sa.Index("uq_users_username_lower", sa.func.lower(username), unique=True),
    )

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session and the remember cookie ("7:token")."""
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        """Set the password and log out every browser signed in with the old one: whoever
        changes a password logs this browser in again (login_user)."""
        self.password_hash = generate_password_hash(password)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


def _lookup_key(text: str) -> str | None:
    """`text` as stored (trimmed, lower-cased), or None when no account could have it: it is
    empty, or holds a control character (refused at sign-up; a NUL PostgreSQL refuses)."""
    key = text.strip().lower()
    return key if key and not control_character(key) else None


def find_by_login(identifier: str) -> User | None:
    """The user whose email or username (any case) is `identifier`."""
    key = _lookup_key(identifier)
    if key is None:
        return None
    return db.session.scalar(
        sa.select(User).where(sa.or_(User.email == key, sa.func.lower(User.username) == key)))


def find_by_email(email: str) -> User | None:
    key = _lookup_key(email)
    if key is None:
        return None
    return db.session.scalar(sa.select(User).where(User.email == key))


def find_by_username(username: str) -> User | None:
    key = _lookup_key(username)
    if key is None:
        return None
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == key))


SESSION_ID = re.compile(r"([1-9][0-9]{0,9}):([A-Za-z0-9_-]{1,64})")


def load_session_user(session_id: object) -> User | None:
    """The user a session or "remember me" cookie names ("7:token", from get_id), or None
    when it is malformed, the user is gone, or their session token has changed since."""
    match = SESSION_ID.fullmatch(session_id) if isinstance(session_id, str) else None
    if match is None or int(match[1]) > MAX_ID:
        return None
    user = db.session.get(User, int(match[1]))
    if user is None or not secrets.compare_digest(user.session_token, match[2]):
        return None
    return user
