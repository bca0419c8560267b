# Two commands on a bare machine with Python 3.11: `make run` and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint format check clean

# Installs again whenever a requirements file changes.
$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Local settings for the demo: a secret key and the demo password, made once
# and kept out of git. Values already in the environment win over this file.
.env:
	@$(PYTHON) -c "import secrets; \
	print('SECRET_KEY=' + secrets.token_urlsafe(50)); \
	print('DEMO_PASSWORD=' + secrets.token_urlsafe(12)); \
	print('HTTPS=false')" > $@
	@echo "Wrote .env with a new secret key and demo password."

run: $(BIN)/.runtime .env
	@set -a && . ./.env && set +a && \
	$(MANAGE) migrate --noinput && \
	$(MANAGE) collectstatic --noinput --verbosity 0 && \
	$(MANAGE) seed_demo --if-empty --password "$$DEMO_PASSWORD" && \
	echo "" && \
	echo "Track Management System on http://127.0.0.1:$${PORT:-8000}" && \
	echo "  engineer: ahmed / $$DEMO_PASSWORD" && \
	echo "  manager:  sarah / $$DEMO_PASSWORD" && \
	echo "  admin:    admin / $$DEMO_PASSWORD" && \
	echo "" && \
	exec $(BIN)/gunicorn -c gunicorn.conf.py

test: $(BIN)/.dev lint
	$(BIN)/pytest

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# What production settings say about themselves.
check: $(BIN)/.runtime
	SECRET_KEY=$$($(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))") \
	ALLOWED_HOSTS=track.example.com $(MANAGE) check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles
