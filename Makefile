# One command runs the app, one runs the tests. Both install what they need first.
VENV ?= .venv
PYTHON ?= python3
DEBUG ?= true
PY := $(VENV)/bin/python

.PHONY: install run serve test lint superuser

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	DEBUG=$(DEBUG) $(PY) manage.py migrate --noinput
	DEBUG=$(DEBUG) $(PY) manage.py runserver 127.0.0.1:8000

# Production-like: the settings come from the environment (DEBUG false unless set), static
# files are hashed and compressed, gunicorn serves (gunicorn.conf.py). Run migrations first.
serve: install
	$(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn -c gunicorn.conf.py config.wsgi

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

superuser: install
	DEBUG=$(DEBUG) $(PY) manage.py createsuperuser
