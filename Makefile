# RentDesk: `make run` starts the demo, `make test` runs every suite (both set everything up).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# gui-gtk: PyGObject, which drives the window's system web view (WebKitGTK) on Linux;
# build: PyInstaller, for `make dist` and the bundle test.
EXTRAS := server,postgres,desktop,gui-gtk,test,build
# The window is the system's web view (DESIGN §6): WebKit2GTK 4.1 and GTK 3, through their GObject typelibs.
WINDOW_DEBS := gir1.2-webkit2-4.1 gir1.2-gtk-3.0
# PyGObject and pycairo come from PyPI as source only on Linux: they build against these (~1 min, once).
GTK_BUILD_DEBS := gcc pkg-config libgirepository1.0-dev libcairo2-dev
TEST_DEBS := chromium postgresql xvfb fonts-dejavu-core desktop-file-utils binutils systemd nginx-light $(WINDOW_DEBS)
# systemd: systemd-analyze verifies deploy/'s units; nginx-light: the TLS example in front of a live server
# binutils: strip, which takes the debug symbols out of the bundle's libraries
DIST_DEBS := binutils $(WINDOW_DEBS)
BENCH_DEBS := wrk postgresql xvfb binutils

.PHONY: all venv debs test test-unit soak bench run screenshots translations dist clean

all: test

$(STAMP): pyproject.toml Makefile
	build/ensure-debian-packages $(GTK_BUILD_DEBS) $(WINDOW_DEBS)
	@# Debian's own python3 makes a venv only with python3-venv (ensurepip): installed when that is what failed
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { build/ensure-debian-packages python3-venv \
		&& rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	@# a Debian-built Python needs its headers to build PyGObject (a pyenv or python.org one has them)
	test -f "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" \
		|| build/ensure-debian-packages python3-dev
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

debs:
	build/ensure-debian-packages $(TEST_DEBS)

# Two workers (pytest-xdist), each taking whole test files (their servers, stores and browsers stay their own):
# on this 2-core machine the suites take about half the time; TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
test: venv debs
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q -p no:cacheprovider --durations=15 -n $(TEST_WORKERS) --dist loadfile

test-unit: venv
	$(PY) -m pytest -q tests/unit

soak: venv debs
	RENTDESK_SOAK=1 $(PY) -m pytest -q -m slow tests/reliability
	RENTDESK_SOAK=1 $(PY) -m pytest -q tests/app/test_differential.py

# The bundle and .deb figures (bench/bundle.py) need `make dist`'s products: built first when missing.
bench: venv debs
	build/ensure-debian-packages $(BENCH_DEBS)
	test -x dist/rentdesk/rentdesk && ls dist/rentdesk_*.deb >/dev/null 2>&1 || $(MAKE) dist
	$(PY) bench/run.py

# The demo opens a window where a display exists, else the browser, printing the URL either way.
run: venv
	$(VENV)/bin/rentdesk demo

# dist/rentdesk/rentdesk (PyInstaller one-folder) and, on Debian, dist/rentdesk_<version>_<arch>.deb
dist: venv
	build/ensure-debian-packages $(DIST_DEBS)
	$(PY) -m PyInstaller build/rentdesk.spec --distpath dist --workpath build/out/pyinstaller --noconfirm --log-level WARN
	$(PY) build/make_deb.py --bundle dist/rentdesk --out dist
	du -sh dist/rentdesk

# Each main screen with demo data, in headless Chromium, into docs/screenshots/ (shown in the README).
screenshots: venv debs
	$(PY) build/screenshots.py --out docs/screenshots

# After changing UI text: extract, merge into the French catalog, compile (.po and .mo are committed).
translations: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o translations/messages.pot --no-location --omit-header --no-wrap .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations -l fr --no-fuzzy-matching --no-wrap
	$(VENV)/bin/pybabel compile -d translations -l fr --statistics
	# the license server's mails to customers (R18-R20): their own domain, shipped inside the package
	$(VENV)/bin/pybabel extract -o license_server/translations/mails.pot --no-location --omit-header --no-wrap license_server/mail.py
	$(VENV)/bin/pybabel update -D mails -i license_server/translations/mails.pot -d license_server/translations -l fr --no-fuzzy-matching --no-wrap
	$(VENV)/bin/pybabel compile -D mails -d license_server/translations -l fr --statistics
	# the customer's page (R27): its own domain, with the core's reasons it shows
	$(VENV)/bin/pybabel extract -F license_server/babel-customer.cfg -k N_ -o license_server/translations/customer.pot --no-location --omit-header --no-wrap .
	test -f license_server/translations/fr/LC_MESSAGES/customer.po || $(VENV)/bin/pybabel init -D customer -i license_server/translations/customer.pot -d license_server/translations -l fr --no-wrap
	$(VENV)/bin/pybabel update -D customer -i license_server/translations/customer.pot -d license_server/translations -l fr --no-fuzzy-matching --no-wrap
	$(VENV)/bin/pybabel compile -D customer -d license_server/translations -l fr --statistics

clean:
	rm -rf $(VENV) build/out dist .pytest_cache .hypothesis
