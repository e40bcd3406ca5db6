# Two commands: `make dev` runs the app, `make test` runs the lint and the suite.
# Both set themselves up on a fresh machine with nothing but Python 3.11.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint install bench simulate screenshots clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: $(PYTHON) not found." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the declared dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# `make dev PORT=5001` serves the app on another port (PORT in the environment or .env too).
dev: $(STAMP)
	$(BIN)/python scripts/dev.py $(if $(PORT),--port $(PORT))

# ruff on the whole repository and mypy on app/, as configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Lint first, so CI (`.ci/run`, which runs `make test`) checks it too.
test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The webhook benchmark against the floor (gunicorn + wrk, SQLite and PostgreSQL; needs wrk).
bench: $(STAMP)
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)

# The life simulation at scale (issue 19; tests/simulation/): people living months on the
# emulator's calendar, the invariants checked after each step; prints its report and exits 1
# on a violation. `make simulate SIMULATE_ARGS="--users 40 --months 6 --trace"` for others.
SIMULATE_ARGS ?= --users 150 --months 18 --seed 7
simulate: $(STAMP)
	$(BIN)/python -m tests.simulation $(SIMULATE_ARGS)

# The README's pictures: the main pages, shot against the emulator by Debian's Chromium, into
# docs/screenshots/ (a manual command, not part of CI: run it when pages change).
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache
