# zephyr: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck pytest install clean fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/zephyr

# The HTTP/2 core runs on jh2 when installed (the dependency), and on h2 otherwise: the
# HTTP/2 tests run a second time on h2 so that the fallback stays proven.
H2_TESTS := tests/test_protocol_http2.py tests/test_http2_client.py tests/test_async_http2.py \
	tests/test_http2_hostile.py
pytest: $(STAMP)
	$(BIN)/python -m pytest -W error -q
	ZEPHYR_HTTP2_LIBRARY=h2 $(BIN)/python -m pytest -W error -q $(H2_TESTS)

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/python -m zephyr.testing.demo

# The response-framing fuzz at 50 times the examples `make test` runs (tests/fuzz_settings.py).
FUZZ_TESTS := tests/test_fuzz_framing.py tests/test_protocol_http11_fuzz.py
fuzz: $(STAMP)
	ZEPHYR_FUZZ=long $(BIN)/python -m pytest -W error -q $(FUZZ_TESTS) $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis

# Benchmarks against nginx and the peers (see benchmarks/README.md); installs what it needs.
.PHONY: bench
bench:
	bash benchmarks/setup.sh
	benchmarks/.venv/bin/python benchmarks/run.py $(BENCH_ARGS)
