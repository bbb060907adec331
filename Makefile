# RentDesk: `make run` starts the demo, `make test` runs every suite (both set everything up).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
EXTRAS := server,postgres,desktop,test
TEST_DEBS := chromium postgresql xvfb libxcb-cursor0 fonts-dejavu-core
BENCH_DEBS := wrk postgresql

.PHONY: all venv debs test test-unit soak bench run screenshots dist clean

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

debs:
	build/ensure-debian-packages $(TEST_DEBS)

test: venv debs
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: venv
	$(PY) -m pytest -q tests/unit

soak: venv debs
	RENTDESK_SOAK=1 $(PY) -m pytest -q -m slow tests/reliability

bench: venv debs
	build/ensure-debian-packages $(BENCH_DEBS)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build/out dist .pytest_cache .hypothesis
