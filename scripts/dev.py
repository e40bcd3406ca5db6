"""`make dev`: the local emulator, migrations, a synced catalog, a registered webhook, the app.

With no STRIPE_SECRET_KEY in the environment or .env, the project's Stripe emulator is
started beside the app and everything is wired to it. With a real test-mode key
(and no STRIPE_API_BASE), the app talks to Stripe itself; see the README for webhooks then.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
EMULATOR_KEY = "sk_test_emulator"
TEST_CARDS = """\
Test cards (any future expiry, any CVC):
  4242 4242 4242 4242   succeeds
  4000 0000 0000 0002   is declined
  4000 0000 0000 0341   attaches, then fails when charged
  "Delayed payment" on the Checkout page completes later (settle it from the emulator)"""


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


def start_emulator(port: int) -> subprocess.Popen:
    (ROOT / "instance").mkdir(exist_ok=True)
    log = open(ROOT / "instance/emulator.log", "a")  # its request log would drown the app's
    process = subprocess.Popen([sys.executable, "-m", "stripe_emulator", "--port", str(port)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    wait_for(f"http://127.0.0.1:{port}/_emulator/config", process)
    return process


DEV_SETTINGS = ("FLASK_DEBUG", "DATABASE_URL", "SITE_URL", "STRIPE_SECRET_KEY",
                "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET")


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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 5000)))
    parser.add_argument("--emulator-port", type=int,
                        default=int(os.environ.get("EMULATOR_PORT", 12111)))
    parser.add_argument("--env-file", type=Path, default=ROOT / "instance/dev.env",
                        help="Where to write the settings for operator commands "
                             "(default instance/dev.env).")
    parser.add_argument("--no-serve", action="store_true",
                        help="Set everything up, print the summary, then stop (used by tests).")
    args = parser.parse_args()
    # `kill` (SIGTERM) cleans up like Ctrl-C: the app server and the emulator stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    load_dotenv(ROOT / ".env")
    os.environ.setdefault("FLASK_DEBUG", "1")
    app_url = f"http://127.0.0.1:{args.port}"
    os.environ.setdefault("SITE_URL", app_url)
    emulator = None
    if not os.environ.get("STRIPE_SECRET_KEY") or os.environ["STRIPE_SECRET_KEY"] == EMULATOR_KEY:
        emulator = start_emulator(args.emulator_port)
        os.environ["STRIPE_SECRET_KEY"] = EMULATOR_KEY
        os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{args.emulator_port}"
    try:
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
        print(TEST_CARDS + "\n", flush=True)
        if not args.no_serve:
            # Its own process group, so the debug reloader's child stops with it.
            server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "run",
                                       "--host", "127.0.0.1", "--port", str(args.port)],
                                      cwd=ROOT, start_new_session=True)
            try:
                server.wait()
            except KeyboardInterrupt:
                pass
            finally:
                stop_group(server)
    finally:
        if emulator is not None:
            stop_group(emulator)


if __name__ == "__main__":
    main()
