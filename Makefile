# Themenforum: two commands do all the set-up. `make up` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: up test bench bench-ladder bench-census soak docs clean install unit

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[embedded,test]'
	touch $(STAMP)

install: $(STAMP)

## Run the whole platform on the embedded stack, seeded with Themenforum 2.
up: $(STAMP)
	$(PY) -m shared.launcher

## Run the test suite against real embedded servers.
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit tests/contract

## Benchmarks: ratios against the bare bus-and-store floor, measured in one run.
bench: $(STAMP)
	$(PY) -m tests.bench

## The same bench scenario at several commits, one after the other (REVS="a b c"; BENCH_FLOW_N default 2000).
bench-ladder: $(STAMP)
	$(PY) -m tests.bench.ladder $(REVS)

## Which store commands a registration costs (the flow with the store's commands counted; BENCH_FLOW_N default 5000).
bench-census: $(STAMP)
	$(PY) -m tests.bench.census

## Fault campaign (SIGKILL each service, restart the store) and sustained load with memory sampled (~15 min).
soak: $(STAMP)
	$(PY) -m tests.soak

## Write each service's AsyncAPI document to docs/asyncapi/.
docs: $(STAMP)
	$(PY) -m shared.asyncapi docs/asyncapi

clean:
	rm -rf var/ .pytest_cache
