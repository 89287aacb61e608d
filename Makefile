# One command runs the app, one runs the tests. Both install what they need first.
VENV ?= .venv
PYTHON ?= python3
DEBUG ?= true
PY := $(VENV)/bin/python

.PHONY: install install-dev run demo serve worker test lint superuser

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# The web server and, beside it, a task consumer on the embedded SQLite queue (no other
# service needed). Ctrl+C stops both.
run: install
	DEBUG=$(DEBUG) $(PY) manage.py migrate --noinput
	DEBUG=$(DEBUG) $(PY) manage.py run_huey --quiet & consumer=$$!; \
	trap 'kill $$consumer 2>/dev/null' EXIT INT TERM; \
	DEBUG=$(DEBUG) $(PY) manage.py runserver 127.0.0.1:8000

# Everything without a real key: the app on its own SQLite database (demo.sqlite3), every AI
# provider and Meta's Graph API played by local fakes, the task consumer beside it; prints the
# keys, ids and numbers that work and those that fail. PORT=8000 by default; the fakes take the
# next ports.
PORT ?= 8000
DEMO_ARGS ?=
demo: install
	$(PY) -m devtools.demo --port $(PORT) $(DEMO_ARGS)

# Production-like: the settings come from the environment (DEBUG false unless set), static
# files are hashed and compressed, gunicorn serves (gunicorn.conf.py). Run migrations first,
# and run `make worker` (one or more) beside it.
serve: install
	$(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn -c gunicorn.conf.py config.wsgi

worker: install
	$(PY) manage.py run_huey

test: install-dev
	$(VENV)/bin/pytest

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	git ls-files -z '*.py' | xargs -0 $(VENV)/bin/django-upgrade --target-version 5.2 --check
	$(VENV)/bin/lint-imports
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

superuser: install
	DEBUG=$(DEBUG) $(PY) manage.py createsuperuser
