# Two commands do everything on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test verify lint bench lock clean

$(STAMP): requirements-dev.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/backupchecks demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict domain application adapters entrypoints tests verify
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# Process-level proofs on loopback (PostgreSQL, the simulator, `serve` processes): docs/reliability.md.
verify: $(STAMP)
	$(BIN)/pytest verify

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# Re-pin both lock files from pyproject.toml with pip-tools (needs the network to PyPI). Versions already pinned are
# kept (delete a line, or run `make lock PIN_ARGS=--upgrade`, to move a package). The dev lock is compiled first and
# seeds the runtime lock, so the two never pin different versions of the same package.
PIP_TOOLS := pip-tools==7.6.2
PIN_ARGS ?=
PIN := .lock-venv/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links $(PIN_ARGS)
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet $(PIP_TOOLS)
	$(PIN) --extra dev -o requirements-dev.lock pyproject.toml
	cp requirements-dev.lock requirements.lock
	$(PIN) -o requirements.lock pyproject.toml
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
