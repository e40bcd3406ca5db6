"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd): the app's mail goes out over SMTP
exactly as in production and arrives here as parsed messages."""

import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    """Keeps every message the server accepted, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.stall_rcpt = 0.0  # seconds to hold each RCPT TO (to kill a sender mid-send)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list) -> str:
        if self.stall_rcpt:
            import asyncio

            await asyncio.sleep(self.stall_rcpt)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def subjects(self, address: str | None = None) -> list[str]:
        return [str(m["Subject"]).strip() for m in (self.to(address) if address else self.messages)]

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    """`with SMTPServer() as smtp:` … `smtp.port`, `smtp.mailbox`."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()  # aiosmtpd's Controller cannot bind port 0
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SMTPServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SMTPServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
