"""What bench.webhooks prints: medians over the rounds, the table, the verdict."""

import os
import platform
import sqlite3
import statistics

from bench.events import KINDS

SERVERS = ("floor", "app")


def summarise(kind: str, rounds: list[dict]) -> dict:
    """Medians over the rounds; the ratio is the median of each round's app/floor ratio."""
    # A round pairs the two servers seconds apart, so drift (a growing table, a checkpoint,
    # a busy neighbour) touches both alike; the median drops a disturbed round.
    ratios = [r["app"]["per_second"] / r["floor"]["per_second"] for r in rounds]
    servers = {}
    for name in SERVERS:
        runs = [r[name] for r in rounds]
        cpu = [run["cpu_ms_per_event"] for run in runs if run["cpu_ms_per_event"] is not None]
        servers[name] = {
            "events_per_s": statistics.median(run["per_second"] for run in runs),
            "rounds_events_per_s": [run["per_second"] for run in runs],
            "p50_ms": statistics.median(run["p50_ms"] for run in runs),
            "p99_ms": statistics.median(run["p99_ms"] for run in runs),
            "cpu_ms_per_event": statistics.median(cpu) if cpu else None,
        }
    return {"target": KINDS[kind].target, "p99_factor": KINDS[kind].p99_factor,
            "ratio": statistics.median(ratios),
            "round_ratios": ratios, **servers}


def verdict(results: list[dict]) -> list[str]:
    """The lines saying what missed its target or failed; empty when all is well."""
    lines = []
    for result in results:
        db = result["db"]
        for kind, k in result["kinds"].items():
            if k["ratio"] < k["target"]:
                lines.append(f"TARGET MISSED ({db}, {kind}): app/floor {k['ratio']:.2f} "
                             f"< {k['target']}")
            factor = k.get("p99_factor")
            if factor and k["app"]["p99_ms"] > factor * k["floor"]["p99_ms"]:
                lines.append(f"TARGET MISSED ({db}, {kind}): p99 {k['app']['p99_ms']:.1f} ms "
                             f"> {factor:g} x the floor's {k['floor']['p99_ms']:.1f} ms")
        lines += [f"FAILED ({db}): {problem}" for problem in result["problems"]]
    return lines


def report(results: list[dict], args) -> None:
    print(f"webhook benchmark: gunicorn {args.workers} sync workers each; wrk {args.threads} "
          f"threads, {args.connections} connections; {os.cpu_count()} CPUs; Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; median of "
          f"{args.rounds} rounds x {args.seconds:g} s; fresh kinds {args.repeats:.0%} repeats")
    print(f"{'db':<9}{'kind':<11}{'floor/s':>8}{'app/s':>8}{'ratio':>7}{'target':>7}  "
          f"{'rounds':<16}{'CPU ms/ev f/a':>14}{'p99 ms f/a':>13}")
    for result in results:
        for kind, k in result["kinds"].items():
            floor, app = k["floor"], k["app"]
            cpu = (f"{floor['cpu_ms_per_event']:.2f}/{app['cpu_ms_per_event']:.2f}"
                   if floor["cpu_ms_per_event"] and app["cpu_ms_per_event"] else "-")
            rounds = " ".join(f"{r:.2f}" for r in k["round_ratios"])
            print(f"{result['db']:<9}{kind:<11}{floor['events_per_s']:>8.0f}"
                  f"{app['events_per_s']:>8.0f}{k['ratio']:>7.2f}{k['target']:>7.1f}  "
                  f"{rounds:<16}{cpu:>14}{floor['p99_ms']:>6.1f}/{app['p99_ms']:<6.1f}")
        if "journal_mode" in result:
            print(f"{result['db']:<9}journal mode: floor {result['journal_mode']['floor']}, "
                  f"app {result['journal_mode']['app']}")
