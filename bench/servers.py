"""The processes a benchmark starts, each stopped by its own pid: PostgreSQL and gunicorn.

Everything binds to 127.0.0.1 on a free port and lives in a temporary directory.
"""

import contextlib
import glob
import http.client
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """The benchmark could not set itself up (not a performance verdict)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run(cmd: list[str], env: dict | None = None, what: str = "") -> None:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{what or shlex.join(cmd)} failed ({done.returncode}):\n"
                         f"{done.stdout}{done.stderr}")


class Gunicorn:
    """`gunicorn TARGET` with a few sync workers on 127.0.0.1, as a context manager."""

    def __init__(self, target: str, env: dict, log: Path, workers: int = 2):
        self.target, self.env, self.log, self.workers = target, env, log, workers
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", self.target,
                 "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                 "--log-level", "warning"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        """Return once the server answers HTTP (any status); raise if it dies or stalls."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn {self.target} exited ({self.proc.returncode}):\n"
                                 f"{tail(self.log)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/webhooks/stripe")  # 405 from both apps: cheap, no side effect
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise BenchError(f"gunicorn {self.target} did not answer in {timeout:.0f}s:\n"
                         f"{tail(self.log)}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the workers so far (Linux /proc), None when unknown."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            total = 0
            for pid in children.split():
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            return total / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def __exit__(self, *exc) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # The session we started holds the master and its workers, and nothing else.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def scalar(url: str, sql: str):
    """The one value `sql` returns, on a plain connection (no settings changed)."""
    return rows(url, sql)[0][0]


def rows(url: str, sql: str) -> list[tuple]:
    """Every row `sql` returns, on a plain connection (no settings changed)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url[len("sqlite:///"):])) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards.

    With BENCH_DATABASE_URL it is created on that server (the named database is only used
    to connect, never changed); otherwise on a throwaway cluster started for the run.
    """
    given = os.environ.get("BENCH_DATABASE_URL")
    if given:
        with _scratch_database(given) as url:
            yield url
        return
    with _throwaway_cluster() as server_url, _scratch_database(server_url) as url:
        yield url


@contextlib.contextmanager
def _scratch_database(server_url: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(server_url).set(drivername="postgresql")
    name = f"bench_webhooks_{uuid.uuid4().hex[:8]}"
    dsn = server.render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(f"could not create a scratch database on {server!r}: {exc}") from exc
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error as exc:
            print(f"bench: could not drop scratch database {name}: {exc}", file=sys.stderr)


def _pg_bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()])
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise BenchError("PostgreSQL binaries not found: install postgresql, set PG_BIN, "
                     "or point BENCH_DATABASE_URL at a server")


@contextlib.contextmanager
def _throwaway_cluster() -> Iterator[str]:
    """initdb + pg_ctl start on 127.0.0.1 (as the postgres user when we are root), like .ci/run."""
    pg_bin, port = _pg_bin(), free_port()
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    data, log = workdir / "data", workdir / "log"

    def as_postgres(*args) -> None:
        cmd = [str(a) for a in args]
        what = shlex.join([Path(cmd[0]).name, *cmd[1:]])
        if as_root:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]
        run(cmd, what=what)

    try:
        try:
            as_postgres(pg_bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
                        "-E", "UTF8")
            as_postgres(pg_bin / "pg_ctl", "-D", data, "-l", log, "-w", "-o",
                        f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir}", "start")
        except BenchError as exc:
            raise BenchError(f"{exc}\n{tail(log)}") from None
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(BenchError):
                as_postgres(pg_bin / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)
