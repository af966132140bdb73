# Two commands do everything on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test verify lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/backupchecks demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict domain application adapters entrypoints
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# Process-level proofs on loopback (PostgreSQL, the simulator, `serve` processes): docs/reliability.md.
verify: $(STAMP)
	$(BIN)/pytest verify

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# Re-pin the lock file from pyproject.toml (needs the network to PyPI).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -vi '^backupchecks' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
