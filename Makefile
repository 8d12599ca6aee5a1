# Two commands for a fresh machine with Python 3.11:  `make demo`  and  `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NPM    ?= npm

.PHONY: demo test lint typecheck pytest ts-test local-model docs clean system-deps deploy-local bench bench-scaleout

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

## The main job: an approval-gated durable run that pauses, is approved and resumes in a new process.
demo: $(STAMP)
	$(VENV)/bin/timestep demo

## The whole test suite: lint, types, TypeScript package, local model, pytest.
test: lint typecheck ts-test local-model pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench deploy
	$(VENV)/bin/ruff format --check src tests bench deploy

typecheck: $(STAMP)
	$(VENV)/bin/mypy

ts/node_modules/.package-lock.json: ts/package-lock.json
	$(NPM) --prefix ts ci --no-audit --no-fund
	@# better-sqlite3 (a dev/optional peer dependency) must have its native binding for the tests;
	@# build it when npm ci left it without one (no prebuilt binary: ~2-5 min from source).
	@test -f ts/node_modules/better-sqlite3/build/Release/better_sqlite3.node || \
		$(NPM) --prefix ts rebuild better-sqlite3
	@touch $@

ts-test: ts/node_modules/.package-lock.json
	$(NPM) --prefix ts run build
	$(NPM) --prefix ts test

## Builds llama-server and fetches the local model's weights once (cached under ~/.cache/timestep).
local-model: $(STAMP)
	$(PY) -m timestep.models.local setup

pytest: $(STAMP) system-deps
	$(PY) -m pytest

## Debian packages the tests use (PostgreSQL server, chromium for the browser test, nginx and
## openssl for the deployment test): installed here when missing (as root), else a clear error.
SYSTEM_DEPS := /usr/lib/postgresql/15/bin/initdb:postgresql /usr/bin/chromium:chromium \
	/usr/sbin/nginx:nginx-light /usr/bin/openssl:openssl
system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do \
		[ -x "$${dep%%:*}" ] || missing="$$missing $${dep#*:}"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian packages for the tests:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
		if command -v pg_ctlcluster >/dev/null 2>&1; then pg_ctlcluster 15 main stop 2>/dev/null || true; fi; \
	else \
		echo "the tests need:$$missing — run 'sudo apt-get install -y$$missing'"; exit 1; \
	fi

## The deployment recipe (deploy/compose.yaml) as local processes: Postgres, 2 workers, inbox behind TLS.
deploy-local: $(STAMP) system-deps
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) deploy/run_local.py --workers 2

## Durable-execution benchmark, Python and TypeScript side by side in one run (~10 min on a quiet
## machine; writes bench/README.md's "Durable execution" section). Quick check: BENCH_ARGS="--runs 5
## --concurrent 50 --no-readme".
bench: $(STAMP) ts/node_modules/.package-lock.json
	$(PY) -m pip install -q -r bench/requirements.txt
	$(PY) bench/bench_durable.py $(BENCH_ARGS)

## Scale-out curve: runs/s of `timestep worker --processes 1, 2, 4` on SQLite and Postgres.
bench-scaleout: $(STAMP)
	$(PY) bench/bench_scaleout.py $(BENCH_ARGS)

## The documentation site, built strictly (broken links and references fail).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site ts/node_modules ts/dist ts/dist-test
