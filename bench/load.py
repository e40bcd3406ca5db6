"""Load from outside: wrk for the timed rounds, a plain client for exact deliveries.

wrk (Debian's, with LuaJIT) runs bench/webhooks.lua, which cycles through a file of
pre-signed requests (bench.events.write_requests) and reports, besides wrk's own figures,
how many requests each thread made and every status it got back.
"""

import http.client
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.servers import BenchError
from tests.stripe_objects import signature_header

PATH = "/webhooks/stripe"
SCRIPT = Path(__file__).with_name("webhooks.lua")


@dataclass
class WrkRun:
    """One wrk run against one server."""

    seconds: float
    answered: int
    made: list[int]  # requests made by each thread
    wraps: int  # times a thread started its share of the file over
    statuses: Counter
    errors: dict[str, int]  # wrk's socket errors: connect, read, write, timeout
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        """Answers that were not 2xx, and requests that got no answer for an error."""
        bad = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return bad + sum(n for name, n in self.errors.items() if name != "status")


def wrk_binary() -> str:
    found = os.environ.get("WRK") or shutil.which("wrk")
    if not found:
        raise BenchError("wrk not found: install it (apt-get install wrk) or set WRK")
    return found


def run_wrk(port: int, requests: Path, seconds: float, threads: int,
            connections: int) -> WrkRun:
    """wrk for `seconds` against the webhook endpoint, cycling through `requests`."""
    cmd = [wrk_binary(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
           "--timeout", "10s", "-s", str(SCRIPT), f"http://127.0.0.1:{port}{PATH}",
           "--", str(requests), str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("bench-result ")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result = json.loads(lines[-1].removeprefix("bench-result "))
    statuses = Counter()
    for thread in result["threads"]:
        statuses.update({int(k): v for k, v in thread["statuses"].items()})
    return WrkRun(
        seconds=result["duration_us"] / 1e6, answered=result["requests"],
        made=[t["made"] for t in result["threads"]],
        wraps=sum(t["wraps"] for t in result["threads"]), statuses=statuses,
        errors=result["errors"], p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000)


def deliver(port: int, bodies: list[bytes], secret: str, clients: int = 4) -> Counter:
    """POST each body exactly once, signed as it is sent; the statuses seen."""

    def post(body: bytes) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", PATH, body, {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(body, secret, int(time.time()))})
            response = conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            return 0
        finally:
            conn.close()

    with ThreadPoolExecutor(clients) as pool:
        return Counter(pool.map(post, bodies))
