"""`make dev`'s mail server: SMTP on 127.0.0.1 (aiosmtpd) that keeps every message it
accepts as instance/mail/<time>-<n>.eml and prints one line for it. Nothing is relayed, so
a development run never writes to a real address; open the .eml files in any mail reader.

    python scripts/mailbox.py [--port 8025] [--dir instance/mail]

The port defaults to MAIL_PORT, else 8025. It stops on Ctrl-C or SIGTERM.
"""

import argparse
import email
import email.policy
import itertools
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent


def display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


class Keeper:
    """The server's handler: each accepted message becomes a file and a line."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.numbers = itertools.count(1)

    def keep(self, content: bytes) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        while True:  # a restarted server counts from 1 again: never overwrite a message
            path = self.folder / f"{stamp}-{next(self.numbers)}.eml"
            try:
                with open(path, "xb") as file:
                    file.write(content)
                return path
            except FileExistsError:
                continue

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        path = self.keep(content)
        message = email.message_from_bytes(content, policy=email.policy.default)
        # The developer's own test users, on the developer's terminal.
        print(f"Mail: to {', '.join(envelope.rcpt_tos)} · subject {message['Subject']}"
              f"  ({display(path)})", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAIL_PORT") or 8025))
    parser.add_argument("--dir", type=Path, default=ROOT / "instance/mail",
                        help="Where messages are kept (default instance/mail).")
    args = parser.parse_args()
    sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(Keeper(args.dir), hostname="127.0.0.1", port=args.port)
    try:
        controller.start()
    except OSError as exc:
        sys.exit(f"mailbox: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
