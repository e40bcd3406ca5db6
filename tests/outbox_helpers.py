"""What the outbox tests share: an SMTP server on a chosen port, the jobs as rows, and
`flask worker` as a real process (started, stopped by SIGTERM, or killed)."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from app.extensions import db
from app.outbox.models import Job
from tests.mailbox import Mailbox

ROOT = Path(__file__).resolve().parent.parent
SITE_URL = "https://lumen.example"


class WatchedMailbox(Mailbox):
    """A Mailbox that also says when a sender has reached RCPT TO (and so is mid-send)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_rcpt = threading.Event()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list) -> str:
        self.in_rcpt.set()
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@contextmanager
def smtp_on(port: int, mailbox: Mailbox | None = None) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1:`port` for the block (tests.mailbox.SMTPServer picks
    its own port; these tests need the port first, to start the server late or twice)."""
    mailbox = mailbox or Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def jobs(app) -> list[Job]:
    """Every job, by id, detached from its session."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Job).order_by(Job.id)).all()
        db.session.expunge_all()
    return list(rows)


def wait_until(condition, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(interval)


def worker_env(database_url: str, mail_port: int, **extra: str) -> dict[str, str]:
    """The environment of a production worker: nothing inherited that would change it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLASK_", "STRIPE_", "MAIL_", "WORKER_", "SITE_URL",
                                "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="worker-test",
               RATELIMIT_STORAGE_URI="memory://", FLASK_DEBUG="0", SITE_URL=SITE_URL,
               MAIL_SERVER="127.0.0.1", MAIL_PORT=str(mail_port), WORKER_POLL_SECONDS="1",
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


class WorkerProcess:
    """`flask worker --name NAME` in its own process, its output in a file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--name", name],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_started(self, timeout: float = 60) -> None:
        def started() -> bool:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.log()}"
            return f"Worker {self.name} started" in self.log()

        wait_until(started, timeout, f"worker {self.name} to start")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM: the worker finishes its job and exits; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.close()

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when a host dies."""
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()
