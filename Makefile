# Pnyx developer commands. `make help` lists them.
#
# Every recipe runs in one bash process with strict error handling, so a
# recipe reads like a script: `cd` and variables carry over between lines.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 3
# threads per gunicorn worker (gthread): a worker batches the ballots that arrive together
WEB_THREADS ?= 8

# `make test` runs against these, never against the `make run` data.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pnyx
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=
# Seconds each coverage-guided fuzzer (tests/fuzz) runs within `make test`; `make fuzz` runs longer.
FUZZ_SECONDS ?= 4

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export DEBIAN_FRONTEND := noninteractive

.PHONY: help venv deps openssl-headers interop js run services postgres redis browser test fuzz lint fmt bench messages clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# --- Python environment -------------------------------------------------------

venv: $(PY) ## Create .venv (python3) if missing

$(PY):
	@if ! python3 -m venv $(VENV); then
	  echo "error: 'python3 -m venv' failed; on Debian/Ubuntu run: sudo apt-get install -y python3-venv" >&2
	  exit 1
	fi

deps: $(STAMP) ## Install requirements.txt and the project (only when they changed)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(MAKE) openssl-headers
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $@

# The transparency-log tests check Pnyx against an independent implementation of the C2SP specs
# (tests/interop/), which needs Python >= 3.12: it gets its own venv, never .venv. The interpreter
# is PNYX_INTEROP_PYTHON, else the first python3.13/python3.12 (pyenv's included) that runs.
INTEROP_VENV := .venv-interop
INTEROP_STAMP := $(INTEROP_VENV)/.installed

interop: $(INTEROP_STAMP) ## Make .venv-interop (Python >= 3.12) with requirements-interop.txt

$(INTEROP_STAMP): requirements-interop.txt
	@found=""
	for py in $${PNYX_INTEROP_PYTHON:-} python3.13 python3.12 \
	    $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
	  if "$$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then found=$$py; break; fi
	done
	if [[ -z "$$found" ]]; then
	  echo "error: the interop tests need Python >= 3.12 (set PNYX_INTEROP_PYTHON)" >&2
	  exit 1
	fi
	rm -rf $(INTEROP_VENV)
	"$$found" -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install -r requirements-interop.txt
	touch $@

# petlib compiles against OpenSSL when no wheel fits.
openssl-headers:
	@if [[ -f /usr/include/openssl/ec.h ]]; then exit 0; fi
	if [[ $$(id -u) -eq 0 ]]; then
	  apt-get update && apt-get install -y libssl-dev
	else
	  echo "error: OpenSSL headers are missing (petlib needs them); run:" >&2
	  echo "  sudo apt-get update && sudo apt-get install -y libssl-dev" >&2
	  exit 1
	fi

# --- Front end -----------------------------------------------------------------

js: ## Build frontend/ into static/ (when frontend/ exists)
	@if [[ ! -f frontend/package.json ]]; then
	  echo "make js: no frontend/package.json yet, nothing to build"
	  exit 0
	fi
	cd frontend
	lock=package-lock.json; [[ -f $$lock ]] || lock=package.json
	if [[ ! node_modules/.pnyx-installed -nt $$lock || package.json -nt node_modules/.pnyx-installed ]]; then
	  if [[ -f package-lock.json ]]; then npm ci; else npm install; fi
	  mkdir -p node_modules && touch node_modules/.pnyx-installed
	fi
	npm run build --if-present

# --- Running the app -------------------------------------------------------------

run: deps js ## Migrate and serve on http://127.0.0.1:8000/ (HOST, PORT) with a Celery worker
	@# A demo: e-mails are files under var/mail/, seed_demo makes an official's account (PNYX_DEMO).
	export PNYX_DEMO=1
	# Links in e-mails and seed_demo's output point at this server unless PNYX_BASE_URL says.
	link_host=$(HOST); [[ $$link_host == 0.0.0.0 ]] && link_host=127.0.0.1
	export PNYX_BASE_URL="$${PNYX_BASE_URL:-http://$$link_host:$(PORT)}"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	if $(PY) manage.py help seed_demo >/dev/null 2>&1; then
	  $(PY) manage.py seed_demo
	fi

	# Broker: Redis at REDIS_URL when it answers, else the embedded filesystem
	# broker (an explicit CELERY_BROKER_URL is used as given).
	if [[ -z "$${CELERY_BROKER_URL:-}" ]]; then
	  if ! $(PY) -c 'import redis; from config.settings import REDIS_URL; redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()' 2>/dev/null; then
	    echo "make run: no Redis answers at REDIS_URL ($${REDIS_URL:-default redis://127.0.0.1:6379/0});"
	    echo "make run: falling back to the embedded filesystem broker ($${PNYX_VAR_DIR:-var}/celery/)."
	    export CELERY_BROKER_URL=filesystem://
	  fi
	fi

	# The worker consumes every queue declared in config/celery.py (celery, tally) and runs
	# Celery beat inside it (-B: the sweeper that heals stalled tallies, config/celery.py). In
	# production, run one `celery -A config beat` next to the workers instead (README).
	pids=()
	stop() { trap - INT TERM EXIT; kill -TERM "$${pids[@]}" 2>/dev/null || true; wait || true; }
	trap 'stop; exit 0' INT TERM  # Ctrl-C is the normal way to stop: not an error
	trap stop EXIT
	$(VENV)/bin/celery -A config worker -B --schedule "$${PNYX_VAR_DIR:-var}/celerybeat-schedule" \
	  --concurrency 2 --loglevel INFO &
	pids+=($$!)
	# DEMO ONLY: the demo election's three trustees, one worker for their queues, with the key
	# stores seed_demo made under var/demo/ (a real trustee runs this on its own machine).
	trustee_env="$${PNYX_VAR_DIR:-var}/demo/trustee-worker.env"
	if [[ -f "$$trustee_env" ]]; then
	  ( set -a; source "$$trustee_env"; set +a
	    # the trustees read and verify the board of the server started below
	    export PNYX_TRUSTEE_BOARD="$$PNYX_BASE_URL"
	    exec $(VENV)/bin/celery -A config worker -Q "$$PNYX_TRUSTEE_QUEUES" --pool solo \
	      --hostname demo-trustees@%h --loglevel INFO ) &
	  pids+=($$!)
	fi
	# DEMO ONLY: the demo election's witness (seed_demo made it under var/demo/witness); real
	# witnesses are run by independent parties on their own machines (docs/witness.md).
	witness_dir="$${PNYX_VAR_DIR:-var}/demo/witness"
	if [[ -f "$$witness_dir/witness.key" ]]; then
	  $(VENV)/bin/pnyx-witness --dir "$$witness_dir" serve --host 127.0.0.1 \
	    --port "$${PNYX_DEMO_WITNESS_PORT:-7380}" &
	  pids+=($$!)
	fi
	if [[ "$${PNYX_DEBUG:-0}" == 1 ]]; then
	  $(PY) manage.py runserver $(HOST):$(PORT) &
	else
	  $(VENV)/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers $(WEB_WORKERS) \
	    --worker-class gthread --threads $(WEB_THREADS) --graceful-timeout 5 --access-logfile - \
	    --control-socket "$${PNYX_VAR_DIR:-var}/gunicorn.ctl" &
	fi
	pids+=($$!)
	echo "make run: serving http://$(HOST):$(PORT)/ (Ctrl-C stops the server and the workers)"
	wait -n   # whichever stops first, the trap stops the other

# --- Services for the test suite ---------------------------------------------------

services: postgres redis ## Make sure PostgreSQL and Redis answer on 127.0.0.1

postgres:
	@ready() { pg_isready -q -h 127.0.0.1 -p 5432; }
	if ! command -v pg_isready >/dev/null; then
	  echo "error: PostgreSQL is not installed; run: sudo apt-get install -y postgresql" >&2
	  exit 1
	fi
	ready && exit 0
	if [[ -d /etc/postgresql ]]; then
	  version=$$(ls /etc/postgresql | sort -V | tail -n 1)
	  echo "make: starting PostgreSQL $$version"
	  pg_ctlcluster --skip-systemctl-redirect "$$version" main start || true
	  for _ in {1..30}; do ready && exit 0; sleep 1; done
	fi
	echo "error: PostgreSQL does not answer at 127.0.0.1:5432; start it with:" >&2
	echo "  sudo pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1) main start" >&2
	exit 1

redis:
	@ready() { [[ "$$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]]; }
	if ! command -v redis-server >/dev/null; then
	  echo "error: Redis is not installed; run: sudo apt-get install -y redis-server" >&2
	  exit 1
	fi
	ready && exit 0
	echo "make: starting Redis"
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
	  --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
	for _ in {1..30}; do ready && exit 0; sleep 1; done
	echo "error: Redis does not answer at 127.0.0.1:6379; start it with:" >&2
	echo "  sudo redis-server --daemonize yes --bind 127.0.0.1 --port 6379" >&2
	exit 1

browser: ## Install Debian's Chromium for the browser tests if missing
	@if [[ -x /usr/bin/chromium ]]; then exit 0; fi
	if [[ $$(id -u) -eq 0 ]]; then
	  apt-get update && apt-get install -y chromium
	else
	  echo "error: /usr/bin/chromium is missing (browser tests need it); run:" >&2
	  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
	  exit 1
	fi

# --- Checks -------------------------------------------------------------------------

test: deps interop js services browser ## Run every test against PostgreSQL, Redis and Chromium
	PNYX_REQUIRE_SERVICES=1 \
	DATABASE_URL=$(TEST_DATABASE_URL) \
	REDIS_URL=$(TEST_REDIS_URL) \
	CELERY_BROKER_URL=$(TEST_REDIS_URL) \
	CELERY_RESULT_BACKEND= \
	PNYX_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  $(PY) -m pytest $(PYTEST_ARGS)
	if [[ -f frontend/package.json ]]; then
	  node --test frontend/test/
	fi

fuzz: FUZZ_SECONDS = 300
fuzz: deps ## Run each atheris fuzzer longer (FUZZ_SECONDS, here 300 by default) from tests/fuzz/corpus
	PNYX_FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m pytest tests/fuzz -s -q

lint: deps ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: deps ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: deps ## Run every bench/*.py (each prints JSON)
	@shopt -s nullglob
	scripts=(bench/*.py)
	if (( $${#scripts[@]} == 0 )); then echo "make bench: no bench/*.py yet"; exit 0; fi
	for script in "$${scripts[@]}"; do
	  echo "== $$script" >&2
	  PYTHONPATH=$(CURDIR) $(PY) "$$script"
	done

messages: deps ## Update locale/*/django.po from the sources and compile them
	$(PY) manage.py makemessages --all --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' \
	  --ignore 'crypto/*' --ignore 'verifier/*' --ignore 'frontend/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean: ## Remove caches and build outputs (keeps .venv, .venv-interop and var/ data)
	rm -rf .pytest_cache .ruff_cache .hypothesis test-artifacts build *.egg-info var/static var/celery
	find . -path ./.venv -prune -o -path ./frontend/node_modules -prune -o \
	  -name __pycache__ -type d -exec rm -rf {} +
