"""Where a worker's time goes per event: py-spy samples the app's gunicorn workers under wrk.

    python -m bench.profile [--db sqlite|postgres] [--kind unhandled|duplicate|handled|...]
                            [--server app|floor] [--seconds 10] [--raw FILE]

Needs py-spy (`.venv/bin/pip install py-spy`; not a project dependency) and the right to
trace processes. The same set-up as bench.webhooks, one server, one kind of event; every
sample is put in one bucket by its innermost frame that says what it is doing, and each
bucket is printed as worker milliseconds per event. Samples are wall time: a sync or a
round trip counts where it waits, and so does time spent runnable while other processes
hold the CPUs, so on a busy machine read the shares more than the milliseconds.
"""

import argparse
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.events import KINDS, fresh, suffixes, write_requests
from bench.load import deliver, run_wrk
from bench.seed import write as write_rows
from bench.servers import BenchError, Gunicorn
from bench.webhooks import SERVERS, TARGETS, WEBHOOK_SECRET, prepare_databases, progress, server_env

RATE = 200  # samples per second per process

# (bucket, file pattern, function pattern): tried on each frame from the innermost out.
# psycopg's frames fall through to the SQLAlchemy (or floor) call that drove them: its wait
# for the server is one frame whichever statement it waits for (on PostgreSQL the "execute"
# bucket holds the BEGIN's round trip and the INSERT's).
BUCKETS = [
    ("idle: gunicorn waiting for a connection", r"gunicorn/workers/sync\.py", r"^wait$"),
    ("DB: commit (driver; the sync or round trip)", r"sqlalchemy/engine/default\.py",
     r"^do_commit$"),
    ("DB: execute (driver; waits included)", r"sqlalchemy/engine/default\.py",
     r"^do_(execute|execute_no_params|executemany)$"),
    ("DB: the floor's one autocommit INSERT", r"bench/floor_app\.py", r"^stripe_webhook$"),
    ("DB: begin / connection checkout", r"sqlalchemy/(engine/base|pool/)",
     r"^(_begin_impl|begin|_connection_begin_impl|connect|_checkout|checkout|_do_get)$"),
    ("json.dumps (payload re-serialised)", r"json/(encoder|__init__)\.py",
     r"^(dumps|encode|iterencode)$"),
    ("json.loads", r"json/(decoder|__init__)\.py", r"^(loads|decode|raw_decode)$"),
    ("stripe: verify_header", r"stripe/", r""),
    ("logging", r"logging/", r""),
    ("SQLAlchemy ORM session", r"sqlalchemy/orm/", r""),
    ("SQLAlchemy Core (statement, result, transaction)", r"sqlalchemy/", r""),
    ("app code", r"(^|/)app/", r""),
    ("Flask / Werkzeug", r"flask/|werkzeug/", r""),
    ("gunicorn: closing the connection", r"gunicorn/util\.py", r"^close_graceful$"),
    ("gunicorn: accept, parse, respond", r"gunicorn/", r""),
]
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def bucket(stack: str) -> str | None:
    """The bucket of one sample; None for the gunicorn master's (not a worker's) samples."""
    frames = stack.split(";")
    if sum(frame.startswith("process ") for frame in frames) < 2:
        return None
    for frame in map(_FRAME.match, reversed(frames)):
        if not frame:
            continue
        func, file = frame["func"].rpartition(".")[2], frame["file"]
        for name, file_pattern, func_pattern in BUCKETS:
            if re.search(file_pattern, file) and re.search(func_pattern, func):
                return name
    return "other"


def summarise(raw: Path, events: int) -> list[tuple[str, float, float]]:
    """(bucket, worker ms per event, share of busy time), busiest first; idle last."""
    counts = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit() and bucket(stack):
            counts[bucket(stack)] += int(n)
    busy = sum(n for name, n in counts.items() if not name.startswith("idle"))
    return [(name, 1000 * n / RATE / events, n / busy if busy else 0.0)
            for name, n in sorted(counts.items(),
                                  key=lambda item: (item[0].startswith("idle"), -item[1]))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--kind", choices=tuple(KINDS), default="unhandled")
    parser.add_argument("--server", choices=SERVERS, default="app")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks here")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("bench: py-spy not found: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, \
                contextlib.ExitStack() as stack:
            workdir = Path(tmp)
            url = prepare_databases(args.db, workdir, stack)[args.server]
            server = stack.enter_context(Gunicorn(TARGETS[args.server], server_env(url),
                                                  workdir / "server.log"))
            server.wait_ready()
            pool = fresh("p", 600, ["unhandled", "handled"], 0.0, seed=1)
            deliver(server.port, pool.bodies, WEBHOOK_SECRET)  # also warms the workers
            kind, count, refs = KINDS[args.kind], int(args.seconds * 4000), None
            if kind.seeded and args.server == "app":
                new = list(dict.fromkeys(suffixes("x", count, 0.3, seed=3)))
                refs = write_rows(args.kind, new, server_env(url))
            elif kind.seeded:  # the floor stores any event: the ids need only be filled in
                refs = dict.fromkeys(suffixes("x", count, 0.3, seed=3), 0)
            bodies = (pool.bodies if args.kind == "duplicate" else fresh(
                "x", count, [kind.template], 0.3, seed=3, refs=refs).bodies)
            write_requests(workdir / "requests.bin", bodies, WEBHOOK_SECRET)
            raw = args.raw or workdir / "stacks.txt"
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(server.proc.pid), "--subprocesses", "--idle",
                 "--nonblocking", "--rate", str(RATE), "--format", "raw",
                 "--duration", str(int(args.seconds)), "--output", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            wrk = run_wrk(server.port, workdir / "requests.bin", args.seconds, 2, 16)
            _, errors = spy.communicate(timeout=60)
            if not raw.exists():
                raise BenchError(f"py-spy wrote nothing: {errors}")
            rows = summarise(raw, wrk.answered)
    except BenchError as exc:
        print(f"bench: could not run: {exc}", file=sys.stderr)
        return 2
    progress(f"{args.server} on {args.db}, {args.kind}: {wrk.per_second:.0f} events/s, "
             f"{wrk.failures} failed")
    print(f"{'where':<52}{'ms/event':>9}{'busy %':>8}")
    for name, ms, share in rows:
        print(f"{name:<52}{ms:>9.3f}{'' if name.startswith('idle') else f'{share:.0%}':>8}")
    print(f"{'busy total':<52}{sum(ms for n, ms, _ in rows if not n.startswith('idle')):>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
