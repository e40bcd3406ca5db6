"""Error pages in the site's own layout, for every status a user can meet."""

from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.billing.errors import BillingError
from app.errors.bodies import UNREADABLE_BODY, UNREADABLE_BODY_MESSAGE
from app.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Page not found",
          "There is nothing here. Check the address, or start from the home page."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "What you sent is larger than we accept."),
    402: ("Payment declined", "The payment was declined. Nothing was charged."),
    429: ("Slow down", "Too many attempts from your address. Please wait a minute and try again."),
    500: ("Something went wrong",
          "An error on our side stopped this page. Nothing was charged. Please try again."),
    502: ("Payment provider error",
          "The payment provider could not complete the request. Nothing was charged."),
    503: ("Temporarily unavailable",
          "This part of the site is not available right now. Nothing was charged."),
}


# An error page: HTML in the site's layout, or JSON for a client that asked for it.
ErrorPage = tuple[Response | str, int]


def wants_json() -> bool:
    # /webhooks/ never reaches the site: its own app answers in JSON (app/webhooks/mount.py).
    return request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str | None = None, *, title: str | None = None,
                 back: str | None = None) -> ErrorPage:
    """The error page; `back`, a path on this site, is offered as the way to try again."""
    default_title, default = MESSAGES.get(
        status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    text = message or default
    if wants_json():
        return jsonify(error=text), status
    return render_template("errors/error.html", status=status, title=title or default_title,
                           message=text, back=back), status


# A form refused for its CSRF token: sent by another site (the browser kept our cookies from
# it, so the page cannot know who is logged in), or opened before the session it belongs to
# ended (logged out elsewhere, cookies cleared, the browser restarted).
CSRF_TITLE = "Nothing was done"
CSRF_CROSS_SITE = ("Another website sent this form to Lumen, so we did nothing with it. If you "
                   "were logged in, you still are. If you meant to do this, do it from Lumen's "
                   "own page.")
CSRF_OUT_OF_DATE = ("This form was out of date, so we did nothing with it. Open the page "
                    "again and send the form once more.")


def posted_from_elsewhere() -> bool:
    """Whether the browser says another site (or origin) sent this request."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site not in ("same-origin", "none")
    sender = request.headers.get("Origin") or request.referrer
    return bool(sender) and urlsplit(sender).netloc != request.host


def local_referrer() -> str | None:
    """The page of this site the request came from (path and query), if there is one."""
    parts = urlsplit(request.referrer or "")
    path = parts.path
    if parts.netloc != request.host or not path.startswith("/") or path.startswith("//") \
            or "\\" in path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ErrorPage:
        # The session is left as it came (see app/sessions.py for a post that had none).
        if posted_from_elsewhere():
            return render_error(400, CSRF_CROSS_SITE, title=CSRF_TITLE)
        return render_error(400, CSRF_OUT_OF_DATE, title=CSRF_TITLE, back=local_referrer())

    @app.errorhandler(BillingError)
    def billing_error(error: BillingError) -> ErrorPage:
        # Stripe trouble is never a 500: say what happened and that nothing was charged.
        return render_error(error.status, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ErrorPage:
        # Messages given to abort(…, description=…) are written for users; Werkzeug's own
        # are not, and the rate limiter's ("5 per 1 minute") are not either.
        own = error.description if error.description != type(error).description else None
        if error.code == 429:
            own = None
        return render_error(error.code or 500, own)

    def unreadable_body(error: Exception) -> ErrorPage:
        app.logger.info("unreadable body on %s %s: %s", request.method, request.path, error)
        return render_error(400, UNREADABLE_BODY_MESSAGE)

    for error_class in UNREADABLE_BODY:
        app.register_error_handler(error_class, unreadable_body)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ErrorPage:
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        # A failed statement leaves the transaction aborted: the page itself (the header
        # asks who is logged in) must not run into it.
        db.session.rollback()
        return render_error(500)
