"""Malformed chunked bodies sent to the real server, gunicorn, over a raw socket: each is
answered 400 with a sentence, by the site and by the webhook app, with no traceback."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.errors.bodies import UNREADABLE_BODY_MESSAGE
from tests.gunicorn_ready import READY

ROOT = Path(__file__).resolve().parent.parent

MALFORMED = {
    "chunk size not hex": b"zz\r\nabc\r\n0\r\n\r\n",
    "chunk without its CRLF": b"3\r\nabcdef\r\n0\r\n\r\n",
    "bad chunk extension": b"3;\x01\r\nabc\r\n0\r\n\r\n",
    "negative chunk size": b"-3\r\nabc\r\n0\r\n\r\n",
    "cut short": b"5\r\nab",
    "no last chunk": b"3\r\nabc\r\n",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(app, database_url, tmp_path):
    """gunicorn serving wsgi:app on the test database (migrated by the `app` fixture)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "gunicorn-test",
           "RATELIMIT_STORAGE_URI": "memory://", "STRIPE_SECRET_KEY": "sk_test_unused",
           "STRIPE_WEBHOOK_SECRET": "whsec_unused", "STRIPE_API_BASE": "http://127.0.0.1:9",
           "FLASK_DEBUG": "0"}
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--chdir", str(ROOT), "--log-level", "info", "-c", "python:tests.gunicorn_ready",
         "wsgi:app"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Not the port: it accepts as soon as the master binds it, before the worker has
        # imported the app (and each request below has only 10 s to be answered).
        deadline = time.monotonic() + 30
        while READY not in log_path.read_text(errors="replace"):
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"gunicorn did not start:\n{log_path.read_text()}"
            time.sleep(0.1)
        yield port, log_path
    finally:
        server.terminate()
        server.wait(15)
        log.close()


def send_chunked(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    """POST `body` as-is after a chunked header; the status and the response body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Stripe-Signature: t=1,v1=00\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), content


def test_malformed_chunked_bodies_are_a_400(gunicorn):
    port, log = gunicorn
    for path in ("/login", "/signup", "/webhooks/stripe"):
        for name, body in MALFORMED.items():
            status, content = send_chunked(port, path, body)
            assert status == 400, (path, name, status, content[-300:])
            if path.startswith("/webhooks/"):
                assert json.loads(content) == {"error": UNREADABLE_BODY_MESSAGE}, (path, name)
            else:
                assert UNREADABLE_BODY_MESSAGE.encode() in content, (path, name)
    assert "Traceback" not in log.read_text()
