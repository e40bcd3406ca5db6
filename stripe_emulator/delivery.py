"""Webhook delivery: a background worker that signs, sends and retries events.

Signing follows Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>`. The timestamp is real wall time (not the emulator's clock) because
receivers check it against their own clock. Misbehaviour switches (duplicate, shuffle,
delay) come from the store's config so tests can turn them on at run time.
"""
import hashlib
import heapq
import hmac
import itertools
import json
import random
import threading
import time

import requests

from .store import public

SEND_TIMEOUT = 5
SHUFFLE_MAX_WAIT = 1.0  # a partly filled shuffle window is released after this long


def sign(secret, body, timestamp=None):
    """The Stripe-Signature header value for a payload."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def matches(endpoint, event_type):
    enabled = endpoint["enabled_events"]
    return endpoint["status"] == "enabled" and ("*" in enabled or event_type in enabled)


class Delivery:
    """One worker thread, a due-time heap of jobs, and the shuffle buffer."""

    def __init__(self, store):
        self.store = store
        self.cond = threading.Condition()
        self.heap = []
        self.buffer = []          # [(buffered_at, [jobs])], one entry per event
        self.inflight = 0
        self.generation = 0       # bumped by reset so stale sends are not recorded
        self._tie = itertools.count()
        self._stopping = False
        store.on_event = self.enqueue
        self.thread = threading.Thread(target=self._run, name="webhook-delivery",
                                       daemon=True)
        self.thread.start()

    # -- scheduling (called with the store lock held) ---------------------------------
    def enqueue(self, event):
        """Plan deliveries of a new event to every endpoint that wants it."""
        store = self.store
        endpoints = [ep for ep in store.all("webhook_endpoint")
                     if matches(ep, event["type"])]
        store.pending[event["id"]] = {ep["id"] for ep in endpoints}
        event["pending_webhooks"] = len(endpoints)
        if not endpoints or not store.config["delivery_enabled"]:
            return
        copies = 2 if store.config["duplicate"] else 1
        jobs = [self._job(event["id"], ep["id"], 1, 0)
                for ep in endpoints for _ in range(copies)]
        with self.cond:
            if store.config["shuffle_window"] > 1:
                self.buffer.append((time.monotonic(), jobs))
                if len(self.buffer) >= store.config["shuffle_window"]:
                    self._release_buffer()
            else:
                self._schedule(jobs)
            self.cond.notify_all()

    def redeliver(self, event):
        """Send an event again to every endpoint that wants it (a manual resend)."""
        attempts = {}
        for rec in self.store.deliveries:
            if rec["event_id"] == event["id"]:
                key = rec["endpoint"]
                attempts[key] = max(attempts.get(key, 0), rec["attempt"])
        jobs = [self._job(event["id"], ep["id"], attempts.get(ep["id"], 0) + 1, 0)
                for ep in self.store.all("webhook_endpoint")
                if matches(ep, event["type"])]
        with self.cond:
            self._schedule(jobs)
            self.cond.notify_all()
        return len(jobs)

    def reset(self):
        with self.cond:
            self.heap.clear()
            self.buffer.clear()
            self.generation += 1
            self.cond.notify_all()

    def _job(self, event_id, endpoint_id, attempt, retry_index):
        return {"event_id": event_id, "endpoint_id": endpoint_id, "attempt": attempt,
                "retry_index": retry_index, "generation": self.generation}

    def _schedule(self, jobs, after=None):
        delay = self.store.config["delay_ms"] / 1000 if after is None else after
        due = time.monotonic() + delay
        for job in jobs:
            heapq.heappush(self.heap, (due, next(self._tie), job))

    def _release_buffer(self):
        events = [jobs for _, jobs in self.buffer]
        self.buffer.clear()
        random.shuffle(events)
        self._schedule([job for jobs in events for job in jobs])

    # -- waiting -----------------------------------------------------------------------
    def flush(self, timeout=10.0):
        """Block until nothing is buffered, queued or being sent; True if it emptied."""
        deadline = time.monotonic() + timeout
        with self.cond:
            if self.buffer:
                self._release_buffer()
                self.cond.notify_all()
            while self.heap or self.buffer or self.inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True

    def pending_count(self):
        with self.cond:
            return len(self.heap) + sum(len(j) for _, j in self.buffer) + self.inflight

    def stop(self):
        with self.cond:
            self._stopping = True
            self.cond.notify_all()

    # -- the worker --------------------------------------------------------------------
    def _next_job(self):
        with self.cond:
            while not self._stopping:
                now = time.monotonic()
                if self.buffer and now - self.buffer[0][0] >= SHUFFLE_MAX_WAIT:
                    self._release_buffer()
                if self.heap and self.heap[0][0] <= now:
                    self.inflight += 1
                    return heapq.heappop(self.heap)[2]
                wait = self.heap[0][0] - now if self.heap else 0.2
                self.cond.wait(min(max(wait, 0.005), 0.2))
            return None

    def _run(self):
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._attempt(job)
            finally:
                with self.cond:
                    self.inflight -= 1
                    self.cond.notify_all()

    def _attempt(self, job):
        store = self.store
        with store.lock:
            event = store.get(job["event_id"], "event")
            endpoint = store.get(job["endpoint_id"], "webhook_endpoint")
            if event is None or endpoint is None or job["generation"] != self.generation:
                return
            body = json.dumps(public(event), indent=2)
            url, secret = endpoint["url"], endpoint["_secret"]
        status, error = None, None
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                   "Stripe-Signature": sign(secret, body)}
        try:
            resp = requests.post(url, data=body.encode(), headers=headers,
                                 timeout=SEND_TIMEOUT, allow_redirects=False)
            status = resp.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._record(job, event, url, status, error)

    def _record(self, job, event, url, status, error):
        store = self.store
        with store.lock:
            if job["generation"] != self.generation:
                return
            store.deliveries.append({
                "event_id": job["event_id"], "type": event["type"], "url": url,
                "endpoint": job["endpoint_id"], "attempt": job["attempt"],
                "status_code": status, "error": error, "at": time.time(),
            })
            pending = store.pending.setdefault(job["event_id"], set())
            if error is None:
                pending.discard(job["endpoint_id"])
                event["pending_webhooks"] = len(pending)
                return
            schedule = store.config["retry_schedule"]
            if job["retry_index"] < len(schedule):
                retry = self._job(job["event_id"], job["endpoint_id"],
                                  job["attempt"] + 1, job["retry_index"] + 1)
                with self.cond:
                    self._schedule([retry], after=schedule[job["retry_index"]])
                    self.cond.notify_all()
