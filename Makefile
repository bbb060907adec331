# RentDesk: `make run` starts the demo, `make test` runs every suite (both set everything up).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# gui-qt: the window's Qt back-end (~530 MB download, needed by the window test and `make run`);
# build: PyInstaller, for `make dist` and the bundle test.
EXTRAS := server,postgres,desktop,gui-qt,test,build
TEST_DEBS := chromium postgresql xvfb libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 fonts-dejavu-core desktop-file-utils
# what Qt's xcb plugin loads: without them the window cannot open (rentdesk then falls back to the browser)
WINDOW_DEBS := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
BENCH_DEBS := wrk postgresql

.PHONY: all venv debs test test-unit soak bench run screenshots translations dist clean

all: test

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

debs:
	build/ensure-debian-packages $(TEST_DEBS)

test: venv debs
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: venv
	$(PY) -m pytest -q tests/unit

soak: venv debs
	RENTDESK_SOAK=1 $(PY) -m pytest -q -m slow tests/reliability

bench: venv debs
	build/ensure-debian-packages $(BENCH_DEBS)
	$(PY) bench/run.py

# The demo opens a window where a display exists, else the browser, printing the URL either way.
run: venv
	-build/ensure-debian-packages $(WINDOW_DEBS)
	$(VENV)/bin/rentdesk demo

# dist/rentdesk/rentdesk (PyInstaller one-folder) and, on Debian, dist/rentdesk_<version>_<arch>.deb
dist: venv
	build/ensure-debian-packages $(WINDOW_DEBS)
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
