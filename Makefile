# Two commands a new user runs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/deepzoo demo

# tests/test_tune_postgres.py needs a PostgreSQL server. Unless DEEPZOO_TEST_POSTGRES_URL names one,
# `make test` starts a local one as .ci/run does, when the postgresql binaries are installed and it runs
# as root (.ci/postgres.sh, installing nothing); if that fails the tests still run and that one skips.
# PYTEST_ARGS picks tests, e.g. `make test PYTEST_ARGS=tests/test_tune_postgres.py`.
test: $(STAMP)
	@if [ -z "$$DEEPZOO_TEST_POSTGRES_URL" ]; then \
	    if url="$$(DEEPZOO_PG_INSTALL=0 timeout 120 .ci/postgres.sh)"; then \
	        export DEEPZOO_TEST_POSTGRES_URL="$$url"; \
	    else \
	        echo "make test: no PostgreSQL server (see above); tests/test_tune_postgres.py will skip" >&2; \
	    fi; \
	fi; \
	echo "$(BIN)/python -m pytest $(PYTEST_ARGS)"; $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'

clean:
	rm -rf $(VENV) runs .pytest_cache
