"""gunicorn settings for the tests that serve the site with it (`-c python:tests.gunicorn_ready`):
each worker logs READY once it has loaded the app and is about to accept connections.

gunicorn's own "Booting worker" line, and the listening socket, come before that: the
worker has only been forked and still has wsgi:app to import (seconds on a busy machine),
so a request sent then waits, unanswered, for as long as the import takes."""

READY = "has loaded the app"


def post_worker_init(worker) -> None:  # gunicorn's hook, after the worker's load_wsgi()
    worker.log.info("Worker %s %s", worker.pid, READY)
