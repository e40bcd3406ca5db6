"""Fixtures for the emulator's own tests: an in-process emulator per module (reset per
test), an SDK client pointed at it, and a local webhook receiver."""
import http.server as http_server
import json
import threading
import time

import pytest
import requests
import stripe

from stripe_emulator import EmulatorServer

API_KEY = "sk_test_emulator"
FAST_RETRIES = [0.05, 0.1, 0.2]


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(port=0) as srv:
        yield srv


class Control:
    """Thin JSON client for the emulator's /_emulator/ control endpoints."""

    def __init__(self, base):
        self.base = base + "/_emulator"
        self.http = requests.Session()

    def post(self, path, json_body=None, expect=200):
        resp = self.http.post(self.base + path, json=json_body or {}, timeout=15)
        assert resp.status_code == expect, resp.text
        return resp.json()

    def get(self, path, **params):
        resp = self.http.get(self.base + path, params=params, timeout=15)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def flush(self):
        return self.post("/flush")

    def deliveries(self, event=None):
        return self.get("/deliveries", **({"event": event} if event else {}))["data"]


@pytest.fixture
def control(emulator):
    ctl = Control(emulator.url)
    ctl.post("/reset")
    ctl.post("/config", {"retry_schedule": FAST_RETRIES})
    return ctl


@pytest.fixture
def stripe_client(emulator, control):
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": emulator.url, "files": emulator.url,
                        "connect": emulator.url},
        max_network_retries=0,
    )


@pytest.fixture
def http(emulator, control):
    """Raw HTTP against /v1, for wire-format checks the SDK hides."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {API_KEY}"
    session.base = emulator.url
    return session


class Receiver:
    """A tiny threaded HTTP server on 127.0.0.1 that records webhook requests."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(http_server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers),
                                              "body": body.decode()})
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self):  # stands in for the app's success/cancel pages
                body = f"<h1>Receiver page</h1><p>{self.path}</p>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = self.base + "/webhooks/stripe"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def events(self, skip=("product.", "price.")):
        """Received events in arrival order, catalog events left out."""
        with self.lock:
            events = [json.loads(r["body"]) for r in self.requests]
        return [e for e in events if not e["type"].startswith(skip)]

    def types(self):
        return [e["type"] for e in self.events()]

    def wait_for(self, count, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return True
            time.sleep(0.01)
        return False

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def endpoint(stripe_client, receiver):
    """A webhook endpoint for every event type, registered through the real API."""
    return stripe_client.v1.webhook_endpoints.create(
        {"url": receiver.url, "enabled_events": ["*"]})


def event_types(stripe_client, skip=("product.", "price."), **params):
    """Event types oldest first (the API lists newest first), catalog events left out."""
    events = stripe_client.v1.events.list({"limit": 100, **params})
    return [e.type for e in reversed(events.data) if not e.type.startswith(skip)]
