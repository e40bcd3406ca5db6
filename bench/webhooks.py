"""Benchmark: the app's `POST /webhooks/stripe` against a bare baseline, in the same run.

    python -m bench.webhooks [--db sqlite|postgres|both] [--events N] [--rate R]
                             [--duplicates 0.2] [--json]

For each database: a fresh database, the app's migrations, gunicorn (2 sync workers) serving
the app and the baseline (bench/baseline_app.py), then signed Stripe events with a share of
repeated ids, first as fast as possible (events/s), then at a fixed rate (p50/p99 latency).
Exits 1 when the target is missed or any response is not 2xx, 2 when it cannot run.
See bench/README.md.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from bench import baseline_app
from bench.load import Sample, event_bodies, event_types, run_closed_loop, run_fixed_rate
from bench.servers import (ROOT, BenchError, Gunicorn, postgres_database, run, sqlite_database,
                           tail)

TARGET_RATIO = 0.8  # ours ≥ 0.8 × baseline throughput
TARGET_P99_MS = 50.0  # at the fixed rate
WEBHOOK_SECRET = "whsec_bench"
ENDPOINTS = ("baseline", "ours")
TARGETS = {"baseline": "bench.baseline_app:create_app()", "ours": "wsgi:app"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--events", type=int, default=800,
                        help="events per endpoint in each throughput round (default 800)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="throughput rounds, each measuring both endpoints back to back "
                             "in alternating order; the ratio is the median of the rounds' "
                             "ratios (default 5)")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="events/s in the latency phase (default 200)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="length of the latency phase per endpoint (default 5)")
    parser.add_argument("--duplicates", type=float, default=0.2,
                        help="share of events that repeat an earlier id (default 0.2)")
    parser.add_argument("--clients", type=int, default=4,
                        help="concurrent client processes/connections (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--with-handler", action="store_true",
                        help="also send charge.refunded for charges that are not ours, so a "
                             "handler runs (and finds nothing to do)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if not 0 <= args.duplicates < 1 or args.events < 10 or args.rate <= 0 or args.rounds < 1:
        parser.error("need 0 <= --duplicates < 1, --events >= 10, --rate > 0, --rounds >= 1")
    return args


def server_env(url: str) -> dict:
    """The servers' environment: ours explicitly, plus what a process needs to run.

    wsgi.py loads `.env`, which never overrides a variable already set, so every setting
    that shapes the webhook path is set here, if only to its default.
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


def bench_database(kind: str, args, pool, types) -> dict:
    """Set up one database and both servers, measure, and tear everything down."""
    with tempfile.TemporaryDirectory(prefix=f"bench-webhooks-{kind}-") as tmp, \
            contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        progress(f"{kind}: preparing a fresh database")
        url = stack.enter_context(sqlite_database(workdir) if kind == "sqlite"
                                  else postgres_database())
        env = server_env(url)
        run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=env,
            what="flask --app wsgi db upgrade")
        baseline_app.create_table(url)
        servers = {name: stack.enter_context(
            Gunicorn(TARGETS[name], env, workdir / f"{name}.log", args.workers))
            for name in ENDPOINTS}
        for server in servers.values():
            server.wait_ready()
        result = measure(kind, args, pool, types, servers)
        result.update(check_rows(url, result.pop("distinct")))
        if result["failures"] or result["row_problems"]:
            for name, server in servers.items():
                print(f"--- {kind} {name} server log (tail) ---\n{tail(server.log)}",
                      file=sys.stderr)
        return result


def measure(kind: str, args, pool, types, servers: dict) -> dict:
    """Warm-up, throughput rounds and the fixed-rate phase, the same events to both."""
    ports = {name: server.port for name, server in servers.items()}
    every: dict[str, list[Sample]] = {name: [] for name in ENDPOINTS}
    distinct = 0

    cpu = {name: [0.0, 0] for name in ENDPOINTS}  # worker CPU seconds, events

    def closed(name: str, bodies: list[bytes], timed: bool = True) -> Sample:
        before = servers[name].cpu_seconds()
        sample = run_closed_loop(pool, ports[name], bodies, WEBHOOK_SECRET, args.clients)
        after = servers[name].cpu_seconds()
        if timed and before is not None and after is not None:
            cpu[name][0] += after - before
            cpu[name][1] += sample.count
        every[name].append(sample)
        return sample

    bodies, n = event_bodies("w", 200, args.duplicates, types, seed=1)
    distinct += n
    for name in ENDPOINTS:  # each worker imports, connects and fills its caches
        closed(name, bodies, timed=False)

    rounds: dict[str, list[Sample]] = {name: [] for name in ENDPOINTS}
    for r in range(args.rounds):
        bodies, n = event_bodies(f"t{r}", args.events, args.duplicates, types, seed=100 + r)
        distinct += n
        for name in ENDPOINTS if r % 2 == 0 else ENDPOINTS[::-1]:
            rounds[name].append(closed(name, bodies))
        progress(f"{kind}: throughput round {r + 1}/{args.rounds}: " + ", ".join(
            f"{name} {rounds[name][-1].per_second:.0f}/s" for name in ENDPOINTS))

    latency: dict[str, Sample] = {}
    bodies, n = event_bodies("l", max(10, round(args.rate * args.seconds)), args.duplicates,
                             types, seed=7)
    distinct += n
    for name in ENDPOINTS:
        latency[name] = run_fixed_rate(pool, ports[name], bodies, WEBHOOK_SECRET,
                                       args.clients, args.rate)
        every[name].append(latency[name])
        progress(f"{kind}: {args.rate:.0f}/s for {args.seconds:.0f}s: {name} "
                 f"p50 {latency[name].percentile(50):.1f} ms, "
                 f"p99 {latency[name].percentile(99):.1f} ms")

    endpoints = {}
    for name in ENDPOINTS:
        total = Sample()
        for sample in every[name]:
            total.merge(sample)
        endpoints[name] = {
            "events_per_s": statistics.median(s.per_second for s in rounds[name]),
            "rounds_events_per_s": [s.per_second for s in rounds[name]],
            "cpu_ms_per_event": 1000 * cpu[name][0] / cpu[name][1] if cpu[name][1] else None,
            "p50_ms": latency[name].percentile(50),
            "p99_ms": latency[name].percentile(99),
            "fixed_rate_achieved": latency[name].per_second,
            "requests": total.count,
            "non_2xx": total.failures,
            "statuses": {str(k): v for k, v in sorted(total.statuses.items())},
            "errors": total.errors,
        }
    # Each round pairs the two endpoints a second apart, so drift (a growing table, a
    # checkpoint, a busy neighbour) touches both alike; the median drops a disturbed round.
    round_ratios = [ours.per_second / baseline.per_second
                    for ours, baseline in zip(rounds["ours"], rounds["baseline"])]
    return {
        "db": kind, "endpoints": endpoints, "distinct": distinct,
        "ratio": statistics.median(round_ratios), "round_ratios": round_ratios,
        "failures": sum(e["non_2xx"] for e in endpoints.values()),
    }


def check_rows(url: str, distinct: int) -> dict:
    """Each distinct event stored exactly once by each endpoint, and ours all processed."""
    engine = sa.create_engine(baseline_app.engine_url(url))
    try:
        with engine.connect() as conn:
            ours = conn.scalar(sa.text("SELECT count(*) FROM stripe_events"))
            pending = conn.scalar(sa.text(
                "SELECT count(*) FROM stripe_events WHERE processed_at IS NULL"))
            baseline = conn.scalar(sa.select(sa.func.count()).select_from(baseline_app.events))
    finally:
        engine.dispose()
    problems = []
    if ours != distinct or pending:
        problems.append(f"ours stored {ours} events ({pending} unprocessed), sent {distinct} ids")
    if baseline != distinct:
        problems.append(f"baseline stored {baseline} events, sent {distinct} ids")
    return {"rows": {"distinct_ids_sent": distinct, "ours": ours, "baseline": baseline},
            "row_problems": problems}


def verdict(result: dict, args) -> list[str]:
    """The lines saying what missed the target or failed; empty when all is well."""
    db, ours = result["db"], result["endpoints"]["ours"]
    lines = []
    if result["ratio"] < TARGET_RATIO:
        lines.append(f"TARGET MISSED ({db}): throughput ours/baseline {result['ratio']:.2f} "
                     f"< {TARGET_RATIO}")
    if not ours["p99_ms"] < TARGET_P99_MS:
        lines.append(f"TARGET MISSED ({db}): ours p99 {ours['p99_ms']:.1f} ms >= "
                     f"{TARGET_P99_MS:.0f} ms at {args.rate:.0f} events/s")
    for name, endpoint in result["endpoints"].items():
        if endpoint["non_2xx"]:
            lines.append(f"FAILED ({db}): {name}: {endpoint['non_2xx']} of "
                         f"{endpoint['requests']} responses not 2xx {endpoint['statuses']}; "
                         f"first: {endpoint['errors'][:1]}")
    lines += [f"FAILED ({db}): {problem}" for problem in result["row_problems"]]
    return lines


def report(results: list[dict], args) -> None:
    print(f"webhook benchmark: gunicorn {args.workers} sync workers, {args.clients} clients, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}; median of {args.rounds} "
          f"x {args.events} events; latency at {args.rate:.0f}/s for {args.seconds:.0f}s; "
          f"{args.duplicates:.0%} repeated ids"
          + ("; with charge.refunded handled" if args.with_handler else ""))
    print(f"{'db':<9}{'endpoint':<10}{'events/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
          f"{'CPU ms/event':>14}")
    for result in results:
        for name in ENDPOINTS:
            e = result["endpoints"][name]
            cpu = f"{e['cpu_ms_per_event']:.2f}" if e["cpu_ms_per_event"] is not None else "-"
            print(f"{result['db']:<9}{name:<10}{e['events_per_s']:>9.0f}{e['p50_ms']:>9.1f}"
                  f"{e['p99_ms']:>9.1f}{e['non_2xx']:>9}{cpu:>14}")
        ours, base = result["endpoints"]["ours"], result["endpoints"]["baseline"]
        cpu = ""
        if ours["cpu_ms_per_event"] and base["cpu_ms_per_event"]:
            cpu = (f"; CPU per event ours/baseline "
                   f"{ours['cpu_ms_per_event'] / base['cpu_ms_per_event']:.1f}x")
        rounds = " ".join(f"{r:.2f}" for r in result["round_ratios"])
        print(f"{result['db']:<9}ratio ours/baseline {result['ratio']:.2f} "
              f"(median of rounds {rounds}; target >= {TARGET_RATIO}); ours p99 {ours['p99_ms']:.1f} ms "
              f"(target < {TARGET_P99_MS:.0f}){cpu}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    if args.events < 500 or args.seconds < 3:
        progress("fewer than 500 events per round or under 3 s at the fixed rate: a smoke "
                 "run, not figures to record")
    results = []
    try:
        handled = handled_event_types()
        types = event_types(handled, args.with_handler)
        progress("event types: " + ", ".join(
            f"{t} ({'handled' if t in handled else 'no handler'})" for t, _ in types))
        with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
            for kind in kinds:
                results.append(bench_database(kind, args, pool, types))
    except BenchError as exc:
        print(f"bench: could not run: {exc}", file=sys.stderr)
        return 2
    problems = [line for result in results for line in verdict(result, args)]
    lines = problems or ["TARGET MET: ours >= 0.8 x baseline throughput and p99 < 50 ms on "
                         + " and ".join(kinds)]
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
