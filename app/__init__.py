"""Application factory: reads like a table of contents."""

import logging
import os
from typing import TYPE_CHECKING

from flask import Flask, Response

from app import config as config_module
from app.extensions import csrf, db, limiter, login_manager, mail, migrate

if TYPE_CHECKING:
    from app.auth.models import User


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_relative_config=True)
    configure(app, test_config)
    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_security_headers(app)
    register_commands(app)
    register_middleware(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config_module.from_env(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    production = not (app.debug or app.testing)
    if production:
        if not app.config["SECRET_KEY"]:
            raise SystemExit(
                "Refusing to start: SECRET_KEY is not set. Set it in the environment "
                "(or .env), or run with FLASK_DEBUG=1 for local development."
            )
        config_module.harden_for_production(app.config)
    elif not app.config["SECRET_KEY"] and app.testing:
        app.config["SECRET_KEY"] = os.urandom(32).hex()  # tests: a throwaway key
    elif not app.config["SECRET_KEY"]:
        # Development: one key for the site, the worker and every command on this machine
        # (a reset link the worker signs must open on the site), kept in the instance folder.
        app.config["SECRET_KEY"] = config_module.development_secret_key(app.instance_path)
    config_module.choose_ratelimit_storage(app.config, production)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("stripe").setLevel(logging.WARNING)  # it logs every request at INFO
    if not app.config["BILLING_ENABLED"]:
        app.logger.info("STRIPE_SECRET_KEY is not set: billing is disabled.")
    if production and app.config["RATELIMIT_STORAGE_URI"] == config_module.MEMORY_STORAGE:
        app.logger.warning("RATELIMIT_STORAGE_URI=memory://: rate limits are counted per "
                           "process, right only with a single worker.")


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (every model registered before Alembic looks)
    from app.sessions import SessionInterface

    app.session_interface = SessionInterface()  # another site's form post keeps it intact
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> "User | None":
        from app.auth.models import load_session_user

        return load_session_user(user_id)


def register_url_converters(app: Flask) -> None:
    from app.ids import DbIdConverter

    # Every id in a URL is `<dbid:…>`: out of the database's range it is a 404, not a 500.
    app.url_map.converters["dbid"] = DbIdConverter


def register_blueprints(app: Flask) -> None:
    from app.admin.sections import bp as admin_bp
    from app.auth import bp as auth_bp
    from app.billing.routes import bp as billing_bp
    from app.history.routes import bp as history_bp
    from app.main import bp as main_bp
    from app.pricing import bp as pricing_bp
    from app.referrals.routes import bp as referrals_bp
    from app.settings import bp as settings_bp
    from app.subscriptions.routes import bp as subscriptions_bp
    from app.upgrades import bp as upgrades_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(pricing_bp)
    app.register_blueprint(upgrades_bp)
    app.register_blueprint(subscriptions_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(history_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(admin_bp)
    register_webhook_handlers()


def register_webhook_handlers() -> None:
    """Import the modules whose functions register themselves as event handlers."""
    from app import handlers, jobs  # noqa: F401  (handlers, and the worker's job kinds)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register_errorhandlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from app.catalog import Offer
    from app.money import format_money
    from app.timeline import timeline_for

    @app.template_filter("money")
    def money_filter(offer_or_amount: Offer | int, currency: str | None = None) -> str:
        """`offer|money`, or `amount|money(currency)`."""
        locale = app.config["BILLING_LOCALE"]
        if isinstance(offer_or_amount, Offer):
            return format_money(offer_or_amount.amount, offer_or_amount.currency, locale)
        if currency is None:
            raise TypeError("an amount needs its currency: amount|money(currency)")
        return format_money(offer_or_amount, currency, locale)

    @app.context_processor
    def inject_globals() -> dict[str, object]:
        return {
            "billing_enabled": app.config["BILLING_ENABLED"],
            "current_access": timeline_for(current_user),
        }


def register_security_headers(app: Flask) -> None:
    from flask import request
    from flask_login import current_user

    # Built once: after_request runs on every site response (webhooks have their own).
    fixed = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        # Checkout redirects after a form post, so Stripe's hosts are allowed form targets.
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self' https://checkout.stripe.com https://billing.stripe.com "
            + (app.config["STRIPE_API_BASE"] or "") + "; frame-ancestors 'none'; "
            "base-uri 'none'"),
    }
    if app.config.get("SESSION_COOKIE_SECURE"):
        fixed["Strict-Transport-Security"] = config_module.HSTS

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in fixed.items():
            response.headers.setdefault(name, value)
        # A logged-in page shows account data (name, level, receipts), and the log-in and
        # sign-up pages echo what was typed: none of it belongs in a browser's or a
        # proxy's cache. Public pages and static files stay cacheable.
        if request.endpoint != "static" and (
                request.blueprint == "auth" or current_user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
        return response


def register_middleware(app: Flask) -> None:
    from app.webhooks.mount import mount_webhooks

    # Stripe's webhook skips the site's browser-facing machinery: see app/webhooks/mount.py.
    mount_webhooks(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        # Flask's documented way to add WSGI middleware; mypy sees a method replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n)


def register_commands(app: Flask) -> None:
    from app.auth.cli import users
    from app.billing.cli import billing
    from app.history import cli as _history_commands  # noqa: F401  (adds to `billing`)
    from app.outbox.cli import worker
    from app.reconcile import cli as _reconcile_commands  # noqa: F401  (adds to `billing`)
    from app.referrals import cli as _referral_commands  # noqa: F401  (adds to `billing`)
    from app.subscriptions import cli as _subscription_commands  # noqa: F401  (to `billing`)
    from app.upgrades import cli as _upgrade_commands  # noqa: F401  (adds to `billing`)
    from app.webhooks import cli as _webhook_commands  # noqa: F401  (adds to `billing`)

    app.cli.add_command(users)
    app.cli.add_command(billing)
    app.cli.add_command(worker)
