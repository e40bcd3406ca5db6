"""The session cookie, kept safe from other sites' form posts.

Browsers withhold a SameSite=Lax cookie from a form that another site posts to us, but they
do store the cookies our answer sets. Such a post arrives with no session: it fails the CSRF
check, and the error page it gets (its CSRF token, a flashed message) fills a new, anonymous
session. Saved, that session's cookie would replace the browser's real one and log its user
out. So a post that came without our session cookie never gets one: nothing done for it
needs a session, since without one its CSRF token cannot be right.
"""

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, never started by an unsafe request."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.method not in SAFE_METHODS and \
                self.get_cookie_name(app) not in request.cookies:
            return
        super().save_session(app, session, response)
