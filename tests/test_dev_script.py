"""`make dev`'s set-up (emulator, migrations, catalog sync, webhook registration, the mail
settings) and a real run: the app, the worker and the local mail server together."""

import email
import email.policy
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app import create_app
from app.auth.models import User
from app.emails import queue_email
from app.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dev_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a developer with no settings of their own, on a fresh database."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "FLASK_", "SITE_URL", "MAIL_", "WORKER_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/dev.db"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_dev_setup_runs_on_a_fresh_database(tmp_path):
    env = dev_env(tmp_path)
    env_file = tmp_path / "dev.env"
    emulator_port, mail_port = free_port(), free_port()
    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--no-serve", "--port", str(free_port()),
         "--emulator-port", str(emulator_port), "--env-file", str(env_file),
         "--mail-port", str(mail_port)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "gold: created product, created price" in out
    assert "webhooks registered and signed" in out
    assert "4242 4242 4242 4242" in out and "App:      http://127.0.0.1:" in out

    # The operator commands reach the same database through the written settings.
    assert f"CLI:      .venv/bin/flask --app wsgi -e {env_file} billing events" in out
    settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                    if not line.startswith("#"))
    assert settings["STRIPE_API_BASE"] == f"http://127.0.0.1:{emulator_port}"
    assert settings["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")
    assert settings["DATABASE_URL"] == env["DATABASE_URL"]
    # Mail goes to the local server, for the app, the worker and operator commands alike
    # (with --no-serve it is not started: nothing would send).
    assert (f"Mail:     local SMTP server at 127.0.0.1:{mail_port}; "
            "messages in instance/mail/") in out
    assert (settings["MAIL_SERVER"], settings["MAIL_PORT"]) == ("127.0.0.1", str(mail_port))
    assert listening(mail_port) is False
    created = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "-e", str(env_file), "users",
         "create", "ops@example.com", "ops", "--password-stdin"],
        input="a long password\n", cwd=ROOT,
        env={k: v for k, v in env.items() if k != "DATABASE_URL"},
        capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr[-2000:]
    with sqlite3.connect(tmp_path / "dev.db") as db:
        assert db.execute("SELECT username FROM users").fetchall() == [("ops",)]


def test_dev_setup_leaves_a_mail_server_of_your_own_alone(tmp_path):
    env = {**dev_env(tmp_path), "MAIL_SERVER": "smtp.example.test", "MAIL_PORT": "2525"}
    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--no-serve", "--port", str(free_port()),
         "--emulator-port", str(free_port()), "--env-file", str(tmp_path / "dev.env")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Mail:     your MAIL_SERVER at smtp.example.test:2525" in result.stdout
    assert "local SMTP server" not in result.stdout


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds}s waiting for {what}"
        time.sleep(0.2)


def test_make_dev_sends_the_apps_mail_to_the_local_server(tmp_path):
    env = dev_env(tmp_path)
    ports = {name: free_port() for name in ("app", "emulator", "mail")}
    mail_dir = tmp_path / "mail"
    out, err = tmp_path / "dev.out", tmp_path / "dev.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        dev = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "--port", str(ports["app"]),
             "--emulator-port", str(ports["emulator"]), "--mail-port", str(ports["mail"]),
             "--mail-dir", str(mail_dir), "--env-file", str(tmp_path / "dev.env")],
            cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
    try:
        def up() -> bool:
            assert dev.poll() is None, err.read_text()[-3000:]
            return "Worker " in err.read_text() and listening(ports["app"])

        wait_until(up, 120, "the app and the worker")
        assert listening(ports["mail"])

        # A message queued as the app queues it; `make dev`'s worker sends it.
        app = create_app({"TESTING": True, "SECRET_KEY": "test",
                          "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
        with app.app_context():
            user = User(email="dev@example.com", username="dev", password_hash="unused")
            db.session.add(user)
            db.session.flush()
            queue_email("referral_credit", user.id, record="dev:1", days=45, reason="admin",
                        until="2027-01-15T10:00:00+00:00", subscribed=False)
            db.session.commit()
            db.engine.dispose()

        wait_until(lambda: list(mail_dir.glob("*.eml")), 30, "a message in the mail folder")
        [kept] = mail_dir.glob("*.eml")
        message = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
        assert message["To"] == "dev@example.com"
        assert message["Subject"] == "45 days of Premium credit for you"
        text = message.get_body(("plain",)).get_content()
        assert f"http://127.0.0.1:{ports['app']}/settings" in text  # links to this app
        line = ("Mail: to dev@example.com · subject 45 days of Premium credit for you  "
                f"({kept})")
        wait_until(lambda: line in out.read_text(), 10, "the mail server's line")
    finally:
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(60)
    assert code == 0, err.read_text()[-3000:]
    # Everything it started stopped with it.
    assert not any(listening(port) for port in ports.values())


# --- issue 20: make dev as a newcomer ---------------------------------------------------

def test_every_test_card_the_emulator_knows_is_listed(tmp_path):
    from stripe_emulator.cards import CARDS

    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--no-serve", "--port", str(free_port()),
         "--emulator-port", str(free_port()), "--env-file", str(tmp_path / "dev.env"),
         "--mail-port", str(free_port())],
        cwd=ROOT, env=dev_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    for card in CARDS.values():  # the 3-D Secure cards too, whatever the module holds
        number = " ".join(card.number[i:i + 4] for i in range(0, 16, 4))
        assert any(number in line and line.rstrip().endswith(card.label) for line in lines), \
            (number, result.stdout)


def test_make_dev_takes_the_port_from_make(tmp_path):
    dry = subprocess.run(["make", "-n", "dev", "PORT=5123"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert "scripts/dev.py --port 5123" in dry.stdout, dry.stdout + dry.stderr


def test_a_taken_port_stops_make_dev_before_anything_starts(tmp_path):
    emulator_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "scripts/dev.py", "--port", str(port),
             "--emulator-port", str(emulator_port), "--env-file", str(tmp_path / "dev.env"),
             "--mail-port", str(free_port())],
            cwd=ROOT, env=dev_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert (f"make dev: 127.0.0.1:{port} is taken (another `make dev`, or another program), "
            f"so the app cannot listen there. Choose another port: make dev PORT={port + 1}"
            ) in result.stderr
    assert not listening(emulator_port) and not (tmp_path / "dev.env").exists()


def test_a_port_that_is_no_port_is_refused_in_a_sentence(tmp_path):
    result = subprocess.run([sys.executable, "scripts/dev.py", "--no-serve"], cwd=ROOT,
                            env={**dev_env(tmp_path), "PORT": "50OO"}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "make dev: error: argument --port: '50OO' is not a port number (1 to 65535)" \
        in result.stderr


PROJECT = ("app", "templates", "static", "migrations", "stripe_emulator", "scripts")


def copy_of_the_project(dest: Path) -> Path:
    """The project as a newcomer checks it out (no instance folder), to run as it is."""
    for name in PROJECT:
        shutil.copytree(ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "wsgi.py", dest / "wsgi.py")
    return dest


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def form_token(session, url: str) -> str:
    html = session.get(url, timeout=30).text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def test_make_dev_password_reset_from_the_mail_its_worker_sent(tmp_path):
    """The acceptance test of issue 20: `make dev`'s own set-up (scripts/dev.py, run from a
    fresh copy of the project so its instance folder is new), its site, worker, emulator and
    mail server; a reset link signed by the worker opens on the site."""
    import requests

    project = copy_of_the_project(tmp_path / "project")
    env = {k: v for k, v in dev_env(tmp_path).items()
           if k not in ("DATABASE_URL", "SECRET_KEY", "PORT", "EMULATOR_PORT")}
    ports = {name: free_port() for name in ("app", "emulator", "mail")}
    site = f"http://127.0.0.1:{ports['app']}"
    out, err = tmp_path / "dev.out", tmp_path / "dev.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        dev = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "--port", str(ports["app"]),
             "--emulator-port", str(ports["emulator"]), "--mail-port", str(ports["mail"])],
            cwd=project, env=env, stdout=stdout, stderr=stderr)
    started: set[int] = set()
    try:
        def up() -> bool:
            assert dev.poll() is None, err.read_text()[-3000:]
            return "Worker " in err.read_text() and listening(ports["app"])

        wait_until(up, 120, "the app and the worker")
        started = descendants(dev.pid)
        instance = project / "instance"
        assert (instance / "app.db").exists()  # its own database, in its instance folder
        assert len((instance / "dev-secret-key").read_text().strip()) == 64
        assert "Key:      instance/dev-secret-key" in out.read_text()

        newcomer = requests.Session()
        signed_up = newcomer.post(f"{site}/signup", allow_redirects=False, timeout=30, data={
            "csrf_token": form_token(newcomer, f"{site}/signup"), "email": "new@example.com",
            "username": "newcomer", "password": "first password", "password2": "first password"})
        assert signed_up.status_code == 303, signed_up.text[-2000:]

        forgetful = requests.Session()  # another browser, logged out
        asked = forgetful.post(f"{site}/forgot-password", allow_redirects=False, timeout=30,
                               data={"csrf_token": form_token(forgetful,
                                                              f"{site}/forgot-password"),
                                     "email": "new@example.com"})
        assert asked.status_code == 303, asked.text[-2000:]

        def reset_mail() -> list[Path]:
            return [path for path in (instance / "mail").glob("*.eml")
                    if "Reset your Lumen password" in path.read_text(errors="replace")]

        wait_until(reset_mail, 60, "the reset e-mail in instance/mail/")
        [kept] = reset_mail()
        message = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
        assert message["To"] == "new@example.com"
        text = message.get_body(("plain",)).get_content()
        [link] = re.findall(rf"{re.escape(site)}/reset-password/\S+", text)

        form = forgetful.get(link, timeout=30)
        assert form.status_code == 200, form.text[-2000:]  # the worker's key is the site's
        reset = forgetful.post(link, allow_redirects=False, timeout=30, data={
            "csrf_token": form_token(forgetful, link), "password": "second password",
            "password2": "second password"})
        assert reset.status_code == 303, reset.text[-2000:]

        later = requests.Session()
        def log_in(password: str):
            return later.post(f"{site}/login", allow_redirects=False, timeout=30, data={
                "csrf_token": form_token(later, f"{site}/login"), "login": "newcomer",
                "password": password})

        assert log_in("first password").status_code == 422
        logged_in = log_in("second password")
        assert logged_in.status_code == 303
        assert "You are logged in." in later.get(site + logged_in.headers["Location"],
                                                 timeout=30).text
    finally:
        started |= descendants(dev.pid)
        dev.send_signal(signal.SIGTERM)
        try:
            code = dev.wait(60)
        except subprocess.TimeoutExpired:
            dev.kill()
            code = dev.wait()
        left = {pid for pid in started if alive(pid)}
        for pid in left:  # only what this run started, by pid
            os.kill(pid, signal.SIGKILL)
    assert code == 0, err.read_text()[-3000:]
    assert not left, f"still running after make dev stopped: {sorted(left)}"
    assert not any(listening(port) for port in ports.values())
