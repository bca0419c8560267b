# Two commands on a bare machine with Python 3.11: `make run` and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint format check clean bench bench-quick wrk

# Installs again whenever a requirements file changes.
$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(BIN)/.bench: $(BIN)/.runtime requirements-bench.txt
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
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

# The load benchmark (bench/README.md): PostgreSQL and Redis when
# DATABASE_URL and REDIS_URL are set, else SQLite and the disk cache.
bench: $(BIN)/.bench wrk
	$(BIN)/python bench/stack.py $(if $(QUICK),--quick)

bench-quick: $(BIN)/.bench wrk
	$(BIN)/python bench/stack.py --quick

# wrk drives the bench where it can be installed; without it the bench says
# so and sends its load from Python processes.
wrk:
	@command -v wrk >/dev/null || \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 || \
	{ apt-get update -q >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1; } || \
	echo "wrk could not be installed: the bench's load comes from Python instead."

clean:
	rm -rf $(VENV) staticfiles
