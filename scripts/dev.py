"""`make dev`: the local emulator, migrations, a synced catalog, a registered webhook, the app,
the worker that sends its mail, and a mail server that keeps what is sent.

With no STRIPE_SECRET_KEY in the environment or .env, the project's Stripe emulator is
started beside the app and everything is wired to it. With a real test-mode key
(and no STRIPE_API_BASE), the app talks to Stripe itself; see the README for webhooks then.

The app listens on 127.0.0.1:5000; `make dev PORT=5001` (or PORT in the environment or
.env, or --port) chooses another, and a port already taken stops it before anything starts.
With no SECRET_KEY, every process it starts (the app, the worker, the set-up commands) signs
with the one key kept in instance/dev-secret-key, made once (app/config.py).

With no MAIL_SERVER, a local SMTP server (scripts/mailbox.py) listens on 127.0.0.1:8025 (or
MAIL_PORT) and keeps each message in instance/mail/. `flask worker` runs beside the app; it
does not reload when code changes: restart `make dev` after changing a job.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import urlopen

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's emulator, whatever is installed

from stripe_emulator.cards import CARDS  # noqa: E402

EMULATOR_KEY = "sk_test_emulator"


def test_cards() -> str:
    """Every test card the emulator knows, with what it does (its own words)."""
    lines = ["Test cards (the emulator's Checkout page offers each; at Stripe, type the number "
             "with any future expiry and any CVC):"]
    for card in CARDS.values():
        number = " ".join(card.number[i:i + 4] for i in range(0, len(card.number), 4))
        lines.append(f"  {number:<22}{card.label}")
    lines.append('  "Delayed payment" on the Checkout page completes later (settle it from '
                 "the emulator)")
    return "\n".join(lines)


def port_number(value: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 65535):
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1 to 65535)")
    return int(value)


def ensure_free(port: int, what: str, choose: str) -> None:
    """Stop before starting anything when the port is taken: otherwise the set-up could
    talk to whatever already listens there (another `make dev`'s emulator, say)."""
    if not port_is_free(port):
        sys.exit(f"make dev: 127.0.0.1:{port} is taken (another `make dev`, or another "
                 f"program), so {what} cannot listen there. {choose}")


def flask(*args: str, capture: bool = False) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            check=False, text=True,
                            stdout=subprocess.PIPE if capture else None)
    if result.returncode != 0:
        sys.exit(f"make dev: `flask {' '.join(args)}` failed (exit {result.returncode}).")
    return result.stdout or ""


def wait_for(url: str, process: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"make dev: the process serving {url} exited (code {process.returncode}).")
        try:
            urlopen(url, timeout=1)
            return
        except URLError as exc:
            if getattr(exc, "code", None):  # an HTTP error status still means it is up
                return
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    sys.exit(f"make dev: nothing answered at {url} after {seconds:.0f}s.")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"make dev: the process for 127.0.0.1:{port} exited "
                     f"(code {process.returncode}).")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"make dev: nothing listened on 127.0.0.1:{port} after {seconds:.0f}s.")


def stop_group(process: subprocess.Popen) -> None:
    """Stop a process started with start_new_session, and everything it started."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(10)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def launch(args: list[str], started: list[subprocess.Popen],
           **options: Any) -> subprocess.Popen:
    """Start a process in its own process group (so whatever it starts, the debug reloader's
    child say, stops with it) and add it to `started`, which main() stops at exit."""
    process = subprocess.Popen(args, cwd=ROOT, start_new_session=True, **options)
    started.append(process)
    return process


def start_emulator(port: int, started: list[subprocess.Popen]) -> subprocess.Popen:
    (ROOT / "instance").mkdir(exist_ok=True)
    log = open(ROOT / "instance/emulator.log", "a")  # its request log would drown the app's
    process = launch([sys.executable, "-m", "stripe_emulator", "--port", str(port)], started,
                     stdout=log, stderr=subprocess.STDOUT)
    wait_for(f"http://127.0.0.1:{port}/_emulator/config", process)
    return process


def start_mailbox(port: int, folder: Path, started: list[subprocess.Popen]) -> None:
    # Checked first: with another `make dev` on the port, waiting for it to answer would
    # find that one's server and send this run's mail to its folder.
    if not port_is_free(port):
        sys.exit(f"make dev: 127.0.0.1:{port} is taken (another `make dev`?). Set MAIL_PORT "
                 "to a free port, or MAIL_SERVER to use a mail server of your own.")
    process = launch([sys.executable, str(ROOT / "scripts/mailbox.py"), "--port", str(port),
                      "--dir", str(folder)], started)
    wait_for_port(port, process)


def serve(port: int, started: list[subprocess.Popen]) -> None:
    """The app and the worker, until Ctrl-C, SIGTERM, or one of them stops."""
    flask_cmd = [sys.executable, "-m", "flask", "--app", "wsgi"]
    server = launch([*flask_cmd, "run", "--host", "127.0.0.1", "--port", str(port)], started)
    worker = launch([*flask_cmd, "worker"], started)
    try:
        while server.poll() is None and worker.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        return
    name, process = ("app server", server) if server.poll() is not None else ("worker", worker)
    sys.exit(f"make dev: the {name} exited (code {process.returncode}); stopping the rest.")


DEV_SETTINGS = ("FLASK_DEBUG", "DATABASE_URL", "SITE_URL", "STRIPE_SECRET_KEY",
                "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET", "MAIL_SERVER", "MAIL_PORT")


def write_env_file(path: Path) -> None:
    """The emulator settings this run uses, for `flask -e FILE …` in another terminal.
    Only written for the emulator, whose key is no secret; real keys stay in .env."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}={os.environ[name]}" for name in DEV_SETTINGS if os.environ.get(name)]
    path.write_text("# Written by `make dev` for this run of the emulator.\n"
                    + "\n".join(lines) + "\n")


def display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    load_dotenv(ROOT / ".env")  # before the options, whose defaults it may set (PORT)
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=port_number, default=os.environ.get("PORT", "5000"),
                        help="The app's port (default PORT, else 5000).")
    parser.add_argument("--emulator-port", type=port_number,
                        default=os.environ.get("EMULATOR_PORT", "12111"),
                        help="The Stripe emulator's port (default EMULATOR_PORT, else 12111).")
    parser.add_argument("--env-file", type=Path, default=ROOT / "instance/dev.env",
                        help="Where to write the settings for operator commands "
                             "(default instance/dev.env).")
    parser.add_argument("--mail-port", type=int,
                        help="The local mail server's port (default MAIL_PORT, else 8025).")
    parser.add_argument("--mail-dir", type=Path, default=ROOT / "instance/mail",
                        help="Where the local mail server keeps messages "
                             "(default instance/mail).")
    parser.add_argument("--no-serve", action="store_true",
                        help="Set everything up, print the summary, then stop (used by tests); "
                             "the mail server, the app and the worker are not started.")
    args = parser.parse_args()
    # `kill` (SIGTERM) cleans up like Ctrl-C: the app, the worker, the mail server and the
    # emulator stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    os.environ.setdefault("FLASK_DEBUG", "1")
    app_url = f"http://127.0.0.1:{args.port}"
    os.environ.setdefault("SITE_URL", app_url)
    local_mail = not os.environ.get("MAIL_SERVER")
    if local_mail:  # the app, the worker and the operator commands all send there
        os.environ["MAIL_SERVER"] = "127.0.0.1"
        os.environ["MAIL_PORT"] = str(args.mail_port or os.environ.get("MAIL_PORT") or 8025)
    started: list[subprocess.Popen] = []  # stopped, last first, however this run ends
    emulator = None
    try:
        if not args.no_serve:
            ensure_free(args.port, "the app",
                        f"Choose another port: make dev PORT={args.port + 1}")
        if (not os.environ.get("STRIPE_SECRET_KEY")
                or os.environ["STRIPE_SECRET_KEY"] == EMULATOR_KEY):
            ensure_free(args.emulator_port, "the Stripe emulator",
                        f"Choose another port: make dev EMULATOR_PORT={args.emulator_port + 1}")
            emulator = start_emulator(args.emulator_port, started)
            os.environ["STRIPE_SECRET_KEY"] = EMULATOR_KEY
            os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{args.emulator_port}"
        flask("db", "upgrade")
        flask("billing", "sync-catalog")
        if emulator is not None:
            secret = flask("billing", "webhook-setup", "--secret-only",
                           f"{app_url}/webhooks/stripe", capture=True).strip()
            os.environ["STRIPE_WEBHOOK_SECRET"] = secret
        print(f"\nApp:      {app_url}")
        if emulator is not None:
            print(f"Stripe:   local emulator at {os.environ['STRIPE_API_BASE']} "
                  "(webhooks registered and signed; log in instance/emulator.log)")
            write_env_file(args.env_file)
            print(f"CLI:      .venv/bin/flask --app wsgi -e {display(args.env_file)} "
                  "billing events   (any operator command, against this set-up)")
        else:
            print("Stripe:   your STRIPE_SECRET_KEY (see the README for webhooks)")
        mail_at = f"{os.environ['MAIL_SERVER']}:{os.environ.get('MAIL_PORT') or 25}"
        if local_mail:
            if not args.no_serve:
                start_mailbox(int(os.environ["MAIL_PORT"]), args.mail_dir, started)
            print(f"Mail:     local SMTP server at {mail_at}; "
                  f"messages in {display(args.mail_dir)}/")
        else:
            print(f"Mail:     your MAIL_SERVER at {mail_at}")
        if not os.environ.get("SECRET_KEY"):
            print("Key:      instance/dev-secret-key (one SECRET_KEY for the app, the worker "
                  "and commands)")
        print(test_cards() + "\n", flush=True)
        if not args.no_serve:
            serve(args.port, started)
    finally:
        for process in reversed(started):
            stop_group(process)


if __name__ == "__main__":
    main()
