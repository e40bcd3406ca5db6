"""A local emulator of the part of Stripe's API the billing app uses.

Run it as a process (`python -m stripe_emulator --port 12111`) or in-process:

    with EmulatorServer(port=0) as srv:
        client = stripe.StripeClient("sk_test_emulator",
                                     base_addresses={"api": srv.url})

It never imports the app and only ever listens on 127.0.0.1.
"""
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app
from .delivery import Delivery
from .store import Store

DEFAULT_API_KEY = "sk_test_emulator"
LOOPBACK = ("127.0.0.1", "localhost")


class _QuietHandler(WSGIRequestHandler):
    """In-process servers (tests) keep stderr for failures, not access logs."""

    def log_request(self, *args, **kwargs):
        pass


class EmulatorServer:
    """The emulator on a threaded werkzeug server in a daemon thread."""

    def __init__(self, port=0, host="127.0.0.1", api_keys=None, config=None):
        """`config`: settings that replace the defaults of /_emulator/config (and that
        /_emulator/reset returns to), e.g. {"invoice_upcoming_days": 7}."""
        if host not in LOOPBACK:
            raise ValueError(f"The Stripe emulator only binds to 127.0.0.1, not {host!r}.")
        self.host = "127.0.0.1"
        self.port = port
        self.store = Store(api_keys=[DEFAULT_API_KEY, *(api_keys or [])], config=config)
        self.delivery = None
        self.app = None
        self._server = None
        self._thread = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        self.delivery = Delivery(self.store)
        self.app = create_app(self.store, self.delivery)
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self.port = self._server.server_port
        self.store.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="stripe-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.delivery is not None:
            self.delivery.stop()

    def serve_forever(self):
        """Run in the current thread (the CLI); delivery still runs in the background."""
        self.delivery = Delivery(self.store)
        self.app = create_app(self.store, self.delivery)
        self._server = make_server(self.host, self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self.store.base_url = self.url
        print(f"Stripe emulator listening on {self.url}", flush=True)
        try:
            self._server.serve_forever()
        finally:
            self.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
