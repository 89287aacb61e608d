# One command runs the app, one runs the tests. Both install what they need first.
VENV ?= .venv
PYTHON ?= python3
DEBUG ?= true
PY := $(VENV)/bin/python

.PHONY: install run test lint superuser

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	DEBUG=$(DEBUG) $(PY) manage.py migrate --noinput
	DEBUG=$(DEBUG) $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

superuser: install
	DEBUG=$(DEBUG) $(PY) manage.py createsuperuser
