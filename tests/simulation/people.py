"""The simulated people: each a browser (a Flask test client with its own cookies) that
uses the site's pages and Stripe's hosted pages as a person would.

Every action returns a short outcome for the report ("ok", "declined", "refused", …). An
answer a person should never get (a server error) is an `ActionFailed`: the simulation
records it as a violation."""

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db
from app.upgrades.models import UserUpgrade

PASSWORD = "correct horse battery"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')

VISA, MASTERCARD, FAILS_LATER, DECLINED = ("4242424242424242", "5555555555554444",
                                          "4000000000000341", "4000000000000002")


class ActionFailed(Exception):
    """The site answered an action with something no person should see."""


@dataclass
class Person:
    user_id: int
    username: str
    email: str
    client: object = field(repr=False)
    csrf: str = field(default="", repr=False)

    # --- the site ------------------------------------------------------------------

    def page(self, path: str) -> str:
        response = self.client.get(path, follow_redirects=True)  # type: ignore[attr-defined]
        if response.status_code >= 500:
            raise ActionFailed(f"GET {path}: {response.status_code}")
        return response.get_data(as_text=True)

    def post(self, path: str, **data):
        data.setdefault("csrf_token", self.csrf)
        response = self.client.post(path, data=data)  # type: ignore[attr-defined]
        if response.status_code >= 500:
            raise ActionFailed(f"POST {path}: {response.status_code} "
                               f"{_text(response.get_data(as_text=True))[:300]}")
        return response

    def get(self, path: str):
        response = self.client.get(path)  # type: ignore[attr-defined]
        if response.status_code >= 500:
            raise ActionFailed(f"GET {path}: {response.status_code} "
                               f"{_text(response.get_data(as_text=True))[:300]}")
        return response

    # --- Stripe's hosted Checkout --------------------------------------------------

    def checkout(self, world, response, card: str) -> str | None:
        """Follow a redirect to Checkout and pay (or save) with `card`: the session id,
        or None when the site did not send the person to Checkout or the card was
        declined (the person closes the page; the session expires a day later)."""
        location = response.headers.get("Location", "")
        if response.status_code != 303 or not location.startswith(world.stripe.url):
            return None
        session_id = location.rsplit("/", 1)[1]
        answer = world.stripe.http.post(
            f"{world.stripe.url}/_emulator/checkout/sessions/{session_id}/complete",
            json={"card": card}, timeout=60)
        if answer.status_code == 402:
            return None
        if answer.status_code >= 400:
            raise ActionFailed(f"Checkout {session_id}: {answer.status_code} {answer.text}")
        return session_id

    # --- what people do ----------------------------------------------------------------

    def subscribe(self, world, interval: str, card: str) -> str:
        data = {"interval": interval}
        if interval == "monthly":
            data["waiver"] = "y"  # the cooling-off waiver's tick-box
        response = self.post("/subscriptions", **data)
        session_id = self.checkout(world, response, card)
        if session_id is None:
            location = response.headers.get("Location", "")
            if location.startswith(world.stripe.url):
                return "declined"
            # Settings: a live subscription the person's page did not show yet (its
            # renewal's events still on their way); else the pricing page's refusal.
            return "already subscribed" if location.endswith("/settings") \
                else f"refused ({response.status_code})"
        self.get(f"/subscriptions/return?session_id={session_id}")
        return "ok"

    def switch(self) -> str:
        response = self.get("/subscriptions/switch")
        if response.status_code != 200:
            return "refused"
        fields = dict(HIDDEN.findall(response.get_data(as_text=True)))
        answer = self.post("/subscriptions/switch", to_interval=fields["to_interval"],
                           proration_date=fields["proration_date"])
        return "ok" if answer.status_code == 303 else f"answered {answer.status_code}"

    def cancel(self) -> str:
        return self._settings_action("/subscriptions/cancel")

    def resume(self) -> str:
        return self._settings_action("/subscriptions/resume")

    def _settings_action(self, path: str) -> str:
        response = self.post(path)
        if response.status_code != 303:
            return f"answered {response.status_code}"
        flashed = self.page("/settings")
        return "refused" if "nothing to cancel" in flashed or "renewing already" in flashed \
            or "no subscription to change" in flashed else "ok"

    def add_card(self, world, card: str) -> str:
        response = self.post("/settings/billing/cards")
        session_id = self.checkout(world, response, card)
        if session_id is None:
            return "declined"
        self.get(f"/settings/billing/cards/added?session_id={session_id}")
        return "ok"

    def make_default(self, card_id: int) -> str:
        response = self.post(f"/settings/billing/cards/{card_id}/default")
        return "ok" if response.status_code == 303 else f"answered {response.status_code}"

    def buy_gold(self, world, recipient: str = "") -> str:
        response = self.post("/user_upgrades", upgrade="gold", recipient=recipient)
        if response.status_code == 422:
            return "refused"
        session_id = self.checkout(world, response, VISA)
        if session_id is None:
            return "declined"
        with world.app.app_context():
            upgrade_id = db.session.scalar(sa.select(UserUpgrade.id).where(
                UserUpgrade.stripe_checkout_session_id == session_id))
        self.get(f"/user_upgrades/{upgrade_id}?session_id={session_id}")
        return "ok"

    # --- what the person's browser would show them -----------------------------------

    def cards(self, app) -> list[tuple[int, bool]]:
        """(id, is default) of the person's cards, as the billing page lists them."""
        with app.app_context():
            return [(card.id, card.priority == 1) for card in db.session.scalars(
                sa.select(PaymentMethod).join(BillingInfo)
                .where(BillingInfo.user_id == self.user_id).order_by(PaymentMethod.priority))]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def sign_up(world, username: str, referral_code: str | None = None) -> Person:
    """A new visitor signs up (through a friend's referral link when given one)."""
    client = world.app.test_client()
    if referral_code:
        client.get(f"/r/{referral_code}")
    page = client.get("/signup").get_data(as_text=True)
    email = f"{username}@example.com"
    response = client.post("/signup", data={
        "email": email, "username": username, "password": PASSWORD, "password2": PASSWORD,
        "csrf_token": CSRF.search(page).group(1)})
    if response.status_code != 303:
        raise ActionFailed(f"sign-up of {username}: {response.status_code}")
    settings = client.get("/settings").get_data(as_text=True)
    with world.app.app_context():
        from app.auth.models import User

        user_id = db.session.scalar(sa.select(User.id).where(User.username == username))
    return Person(user_id, username, email, client, CSRF.search(settings).group(1))
