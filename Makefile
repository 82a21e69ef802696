# captum-ext: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11, CPU).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# CPU torch: constraints.txt pins the on-disk CPU wheel (an unpinned torch pulls CUDA builds).
PIP_INSTALL = $(BIN)/pip install -q --disable-pip-version-check -c constraints.txt
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1
export TOKENIZERS_PARALLELISM = false
# idle OpenMP threads sleep instead of spinning (torch processes sharing few cores)
export OMP_WAIT_POLICY = PASSIVE

.PHONY: install demo test test-unit test-integration lint model docs docs-test clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e ".[dev]"
	touch $@

## model: fine-tune the default model into the user cache if it is not there yet (~3 min)
model: install
	$(BIN)/captum-ext finetune --if-missing

## demo: explain the three example tweets with every method; writes out/demo/index.html
demo: model
	$(BIN)/captum-ext demo --out out/demo

## test: unit tests (tiny random models), integration tests (the real default model), then the
## docs: build the site (tutorials run), open every page in headless Chromium, run examples/
test: install
	$(BIN)/python -m pytest -q tests/unit
	$(MAKE) --no-print-directory model
	$(BIN)/python -m pytest -q -m integration tests/integration
	$(MAKE) --no-print-directory docs-test

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-integration: model
	$(BIN)/python -m pytest -q -m integration tests/integration

lint: install
	$(BIN)/ruff check captum_ext adapters tests benchmarks examples
	$(BIN)/mypy captum_ext

## docs: build the documentation site into site/ offline; the tutorials run on the default model
docs: model $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

$(VENV)/.docs-installed: $(VENV)/.installed
	$(PIP_INSTALL) -e ".[docs]"
	touch $@

## docs-test: build the site, then open every tutorial in headless Chromium and run examples/
## (installs Debian's chromium with apt-get when it is missing)
docs-test: docs
	command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }
	$(BIN)/python -m pytest -q -m integration tests/docs

clean:
	rm -rf out build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
