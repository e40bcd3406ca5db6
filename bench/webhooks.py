"""Benchmark: the app's `POST /webhooks/stripe` against the floor, measured from outside.

    python -m bench.webhooks [--db sqlite|postgres|both] [--kinds unhandled,duplicate,...]
                             [--rounds 3] [--seconds 6] [--repeats 0.3] [--json]

For each database: a fresh database, the app's migrations, gunicorn (2 sync workers each)
serving the app and the floor (bench/floor_app.py), then wrk (2 threads, 16 connections)
against each in turn, rounds alternating which goes first, for each kind of event (the
state-changing ones seeded through the app's models first, and their effects checked after).
Exits 1 when a target is missed or anything failed, 2 when it cannot run. See
bench/README.md.
"""

import argparse
import contextlib
import json
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from bench import floor_app
from bench.effects import Sent, check_effects
from bench.events import KINDS, check_types, fresh, ids_sent, suffixes, write_requests
from bench.load import deliver, run_wrk, wrk_binary
from bench.report import SERVERS, report, summarise, verdict
from bench.seed import write as write_rows
from bench.servers import ROOT, BenchError, Gunicorn, postgres_database, run, scalar, tail

WEBHOOK_SECRET = "whsec_bench"
TARGETS = {"floor": "bench.floor_app:create_app()", "app": "wsgi:app"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"comma-separated, of {', '.join(KINDS)} (default all)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; each runs floor and app back to back, alternating "
                             "which goes first (default 3)")
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="length of one wrk run (default 6)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of wrk per server and kind before the rounds (default 2)")
    parser.add_argument("--repeats", type=float, default=0.3,
                        help="share of fresh-kind events that resend an earlier id (default 0.3)")
    parser.add_argument("--pool", type=int, default=600,
                        help="stored events the duplicate kind redelivers (default 600)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16,
                        help="wrk connections in all (default 16: 8 per thread)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if (not args.kinds or set(args.kinds) - set(KINDS) or not 0 <= args.repeats < 1
            or args.rounds < 1 or args.seconds <= 0 or args.connections < args.threads
            or args.pool < 10):
        parser.error(f"need --kinds among {', '.join(KINDS)}, 0 <= --repeats < 1, "
                     "--rounds >= 1, --seconds > 0, --connections >= --threads, --pool >= 10")
    return args


def server_env(url: str) -> dict:
    """A server's environment: every setting that shapes the webhook path, set explicitly.

    wsgi.py loads `.env`, which never overrides a variable already set.
    """
    env = {k: v for k, v in os.environ.items()
           if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV"}}
    env.update(
        DATABASE_URL=url, SECRET_KEY="bench-secret-key", STRIPE_SECRET_KEY="sk_test_bench",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, FLASK_DEBUG="", STRIPE_API_BASE="",
        WEBHOOK_MAX_BYTES="", WEBHOOK_TOLERANCE_SECONDS="300", TRUSTED_PROXIES="",
        RATELIMIT_STORAGE_URI="memory://", PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def handled_event_types() -> set[str]:
    from app import handlers  # noqa: F401  (registers the handlers, as create_app does)
    from app.webhooks.registry import HANDLERS

    return set(HANDLERS)


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bench_database(db: str, args) -> dict:
    """Set up one database and both servers, measure, and tear everything down."""
    with tempfile.TemporaryDirectory(prefix=f"bench-webhooks-{db}-") as tmp, \
            contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        progress(f"{db}: preparing fresh databases")
        urls = prepare_databases(db, workdir, stack)
        servers = {name: stack.enter_context(Gunicorn(
            TARGETS[name], server_env(urls[name]), workdir / f"{name}.log", args.workers))
            for name in SERVERS}
        for server in servers.values():
            server.wait_ready()
        bench = Measurement(db, args, servers, workdir, server_env(urls["app"]))
        result = bench.run()
        settle(urls)
        result["rows"], more = check_rows(urls, bench.surely, bench.maybe)
        result["problems"] += more + check_effects(urls["app"], bench.sent)
        if db == "sqlite":
            result["journal_mode"] = {name: scalar(urls[name], "PRAGMA journal_mode")
                                      for name in SERVERS}
        if result["problems"]:
            for name, server in servers.items():
                print(f"--- {db} {name} server log (tail) ---\n{tail(server.log)}",
                      file=sys.stderr)
        return result


def prepare_databases(db: str, workdir: Path, stack: contextlib.ExitStack) -> dict:
    """Fresh, migrated databases for both servers: {"floor": url, "app": url}."""
    if db == "sqlite":  # one file each: the floor's WAL setting must not reach the app's
        urls = {name: f"sqlite:///{workdir / name}.db" for name in SERVERS}
    else:
        urls = dict.fromkeys(SERVERS, stack.enter_context(postgres_database()))
    run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        env=server_env(urls["app"]), what="flask --app wsgi db upgrade")
    floor_app.create_table(urls["floor"])
    return urls


class Measurement:
    """The runs against one database's two servers, and which event ids they were sent."""

    def __init__(self, db: str, args, servers: dict, workdir: Path, app_env: dict):
        self.db, self.args, self.servers, self.workdir = db, args, servers, workdir
        self.app_env = app_env  # for seeding the app's database
        self.sent: dict[str, Sent] = {}  # per seeded kind: what the app was sent
        self.problems: list[str] = []
        # Per server: ids answered (so stored), and ids perhaps sent (in flight at the end).
        self.surely = {name: set() for name in SERVERS}
        self.maybe = {name: set() for name in SERVERS}
        self.rate: dict[str, float] = {}  # best events/s so far per kind: sizes the files

    def run(self) -> dict:
        args, kinds = self.args, self.args.kinds
        pool = fresh("p", args.pool, ["unhandled", "handled"], 0.0, seed=1)
        for name in SERVERS:  # the duplicate kind's stored events; also each worker's start
            statuses = deliver(self.servers[name].port, pool.bodies, WEBHOOK_SECRET)
            self.note_sent(name, set(pool.ids), set(pool.ids))
            if set(statuses) - set(range(200, 300)):
                self.problems.append(f"{name}: delivering the pool got {dict(statuses)}")
        for kind in (k for k in kinds if k != "duplicate"):
            if args.warmup > 0:
                self.pair(kind, f"w{kind[:2]}", args.warmup, SERVERS, seed=2)
        rounds = {kind: [] for kind in kinds}
        for r in range(args.rounds):
            for i, kind in enumerate(kinds):
                order = SERVERS if (r + i) % 2 == 0 else SERVERS[::-1]
                if kind == "duplicate":
                    rounds[kind].append(self.duplicates(pool, order, seed=100 + r))
                else:
                    rounds[kind].append(self.pair(kind, f"{r}{kind[:2]}", args.seconds,
                                                  order, seed=100 + r))
            progress(f"{self.db}: round {r + 1}/{args.rounds}: " + "; ".join(
                f"{kind} floor {rounds[kind][-1]['floor']['per_second']:.0f}/s app "
                f"{rounds[kind][-1]['app']['per_second']:.0f}/s" for kind in kinds))
        return {"db": self.db, "kinds": {kind: summarise(kind, rounds[kind]) for kind in kinds},
                "problems": self.problems}

    def pair(self, kind: str, prefix: str, seconds: float, order, seed: int) -> dict:
        """Fresh events of `kind` (with repeats) to both servers, the same requests to each."""
        # Enough that wrk never runs out, even if this run is twice as fast as any before.
        count = math.ceil(seconds * max(3000, 2 * self.rate.get(kind, 0)))
        refs = None
        if KINDS[kind].seeded:  # what each new event is about, written before it is signed
            new = list(dict.fromkeys(suffixes(prefix, count, self.args.repeats, seed)))
            refs = write_rows(kind, new, self.app_env)
            self.sent.setdefault(kind, Sent()).seeded.update(new)
        batch = fresh(prefix, count, [KINDS[kind].template], self.args.repeats, seed,
                      refs=refs)
        runs = self.run_both(kind, batch.bodies, seconds, order)
        for name, result in runs.items():
            made = result.pop("made")
            surely, maybe = ids_sent(batch.ids, made, self.unanswered()), ids_sent(batch.ids, made)
            self.note_sent(name, surely, maybe)
            if name == "app" and kind in self.sent:
                self.sent[kind].surely |= {i.removeprefix("evt_") for i in surely}
                self.sent[kind].maybe |= {i.removeprefix("evt_") for i in maybe}
            if result["wraps"]:
                self.problems.append(f"{name} {kind}: wrk ran out of fresh events and "
                                     "started over (the share of repeats grew)")
        return runs

    def duplicates(self, pool, order, seed: int) -> dict:
        """Redeliveries of the pool, stored on both servers before: wrk cycles through it."""
        bodies = list(pool.bodies)
        random.Random(seed).shuffle(bodies)
        runs = self.run_both("duplicate", bodies, self.args.seconds, order)
        for result in runs.values():
            result.pop("made")
        return runs

    def run_both(self, kind: str, bodies: list[bytes], seconds: float, order) -> dict:
        path = self.workdir / "requests.bin"
        write_requests(path, bodies, WEBHOOK_SECRET)  # signed now: fresh for both runs
        runs = {}
        for name in order:
            server = self.servers[name]
            cpu_before = server.cpu_seconds()
            wrk = run_wrk(server.port, path, seconds, self.args.threads, self.args.connections)
            cpu_after = server.cpu_seconds()
            cpu = (1000 * (cpu_after - cpu_before) / wrk.answered
                   if wrk.answered and None not in (cpu_before, cpu_after) else None)
            if wrk.failures:
                self.problems.append(f"{name} {kind}: {wrk.failures} of {wrk.answered} "
                                     f"requests failed: statuses {dict(wrk.statuses)}, "
                                     f"socket errors {wrk.errors}")
            self.rate[kind] = max(self.rate.get(kind, 0.0), wrk.per_second)
            runs[name] = {"per_second": wrk.per_second, "p50_ms": wrk.p50_ms,
                          "p99_ms": wrk.p99_ms, "cpu_ms_per_event": cpu,
                          "answered": wrk.answered, "wraps": wrk.wraps, "made": wrk.made}
        path.unlink()
        return runs

    def unanswered(self) -> int:
        return math.ceil(self.args.connections / self.args.threads)

    def note_sent(self, name: str, surely: set[str], maybe: set[str]) -> None:
        self.surely[name] |= surely
        self.maybe[name] |= maybe


def settle(urls: dict, pause: float = 0.3) -> None:
    """Wait until neither server stores anything more: requests still in flight when wrk
    stopped are handled after it, and the checks read several tables one after another."""
    tables = {"floor": floor_app.TABLE, "app": "stripe_events"}
    for name in SERVERS:
        count, before = scalar(urls[name], f"SELECT count(*) FROM {tables[name]}"), None
        while count != before:
            time.sleep(pause)
            count, before = scalar(urls[name], f"SELECT count(*) FROM {tables[name]}"), count


def check_rows(urls: dict, surely: dict, maybe: dict) -> tuple[dict, list[str]]:
    """Each server stored every event it answered, once; the app processed all of them."""
    counts = {
        "floor": scalar(urls["floor"], f"SELECT count(*) FROM {floor_app.TABLE}"),
        "app": scalar(urls["app"], "SELECT count(*) FROM stripe_events"),
    }
    pending = scalar(urls["app"], "SELECT count(*) FROM stripe_events WHERE processed_at IS NULL")
    problems = [f"{name} stored {counts[name]} events, expected {len(surely[name])} "
                f"to {len(maybe[name])}" for name in SERVERS
                if not len(surely[name]) <= counts[name] <= len(maybe[name])]
    if pending:
        problems.append(f"app left {pending} events unprocessed")
    return {"stored": counts, "app_unprocessed": pending}, problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    if args.rounds < 3 or args.seconds < 5:
        progress("fewer than 3 rounds or under 5 s a run: a smoke run, not figures to record")
    try:
        wrk_binary()
        check_types(handled_event_types())
        results = [bench_database(db, args) for db in dbs]
    except BenchError as exc:
        print(f"bench: could not run: {exc}", file=sys.stderr)
        return 2
    problems = verdict(results)
    lines = problems or [f"TARGETS MET on {' and '.join(dbs)}: app/floor " + ", ".join(
        f"{kind} >= {KINDS[kind].target}" for kind in args.kinds)]
    if args.json:  # stdout stays parseable; the verdict also goes to stderr
        print(json.dumps({"results": results, "verdict": lines, "met": not problems},
                         indent=2))
        print("\n".join(lines), file=sys.stderr)
    else:
        report(results, args)
        print("\n".join(lines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
