"""`python -m tests.simulation`: run a life simulation and print its report (`make
simulate`). Starts its own Stripe emulator and SMTP server; the database is a fresh SQLite
file unless `--database-url` (or TEST_DATABASE_URL) names one, whose schema is rebuilt.
Exits 1 if an invariant was violated."""

import argparse
import logging
import os
import sys
import tempfile

from tests.simulation import Settings, app_config, memory_backed, simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    parser.add_argument("--users", type=int, default=Settings.users)
    parser.add_argument("--months", type=int, default=Settings.months)
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--duplicate", type=float, default=Settings.duplicate,
                        help="share of events delivered twice (default %(default)s)")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"),
                        help="a database to use (its schema is dropped and rebuilt); "
                             "default: a new SQLite file")
    parser.add_argument("--trace", action="store_true",
                        help="print the story of the first users a violation names")
    args = parser.parse_args(argv)
    # The report says what matters (the app, and the migrations' logging set-up, would
    # print every failed renewal the simulation causes on purpose).
    logging.disable(logging.CRITICAL)

    from app import create_app
    from app.extensions import db
    from stripe_emulator import EmulatorServer
    from tests.conftest import reset_schema, test_config
    from tests.mailbox import SMTPServer

    with tempfile.TemporaryDirectory(dir=memory_backed()) as tmp, \
            EmulatorServer(port=0) as emulator, SMTPServer() as smtp:
        url = args.database_url or f"sqlite:///{tmp}/simulation.db"
        app = create_app(test_config(url, **app_config(url, emulator.url, smtp.port)))
        reset_schema(app)
        settings = Settings(users=args.users, months=args.months, seed=args.seed,
                            duplicate=args.duplicate)
        kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        report = simulate(app, emulator.url, smtp.mailbox, settings, kind)
        with app.app_context():
            db.engine.dispose()
    print(report.text())
    if args.trace and report.violations:
        print(report.traces())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
