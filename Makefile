# The two commands of the README: `make demo` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
FRONTEND_STAMP := frontend/dist/.built

.PHONY: demo test install frontend tools lint-imports clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, from its exact pin, so nothing else drags in a CUDA build.
	$(PIP) install -q "$$(grep -E '^torch==' requirements.txt)"
	$(PIP) install -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# The single-page app; skipped cleanly while the frontend folder has no package.json.
frontend: $(FRONTEND_STAMP)
$(FRONTEND_STAMP): $(shell find frontend -type f -not -path '*/node_modules/*' -not -path '*/dist/*' 2>/dev/null)
	@if [ -f frontend/package.json ]; then \
		cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build && touch dist/.built; \
	else mkdir -p frontend/dist && touch $(FRONTEND_STAMP); fi

# Debian's Chromium for the browser tests (no test tool downloads a browser of its own) and
# Debian's docker-compose, which checks docker-compose.yml where the compose plugin is absent.
tools:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; } || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian:$$missing"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
		|| { echo "Could not install$$missing: run 'apt-get install$$missing' as root."; exit 1; }; \
	fi

test: install frontend tools
	@if [ -f frontend/package.json ]; then npm --prefix frontend test; fi
	HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 $(PY) -m pytest

demo: install frontend
	HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 $(PY) manage.py demo $(if $(SIMULATE),--simulate)

lint-imports: install
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist var
