# veille — tâches courantes. `make run` : une relève ; `make test` : toute la suite.
CARGO  ?= cargo
VENV   := .venv
PYTHON := $(VENV)/bin/python
FEEDPARSER_VERSION := 6.0.14

.PHONY: run test bench lint deps build release clean web-deps web-system-deps screenshots

## Une relève de toutes les sources de feeds.toml, avec son résumé.
run: release
	./target/release/veille fetch

release:
	$(CARGO) build --release --locked

build:
	$(CARGO) build --locked

## Toute la suite : format, lint, tests unitaires, de bout en bout et de conformité.
test: deps lint
	node --test $(WEB)/test/
	$(CARGO) test --locked --all-targets --no-fail-fast
	@echo "make test : tout est passé"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Benchmarks (figures printed; compare side by side with Python feedparser).
bench: deps
	$(CARGO) bench --locked --bench parse --bench fetch --bench dedup --bench search

## What the tests need beyond Rust: Python feedparser as an independent oracle, in a local venv,
## and the HTML checks (tools/web: W3C Nu validator, axe-core in Chromium).
deps: $(VENV)/.ready web-deps

$(VENV)/.ready:
	@command -v python3 >/dev/null || { echo "python3 est requis (paquet Debian python3 et python3-venv)"; exit 1; }
	python3 -m venv $(VENV) || { echo "impossible de créer $(VENV) : installez le paquet Debian python3-venv"; exit 1; }
	$(PYTHON) -m pip install --quiet --disable-pip-version-check feedparser==$(FEEDPARSER_VERSION)
	touch $@

## Contrôles HTML : java (vnu.jar), chromium (axe-core), node et npm, puis les paquets npm figés
## de tools/web. En root, installe les paquets Debian manquants ; sinon dit lesquels installer.
WEB := tools/web
web-deps: web-system-deps $(WEB)/node_modules/.package-lock.json

web-system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	[ -x "$${CHROMIUM:-/usr/bin/chromium}" ] || missing="$$missing chromium"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installation des paquets Debian :$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
	  echo "paquets Debian manquants :$$missing (installez-les en root : apt-get install$$missing)" >&2; \
	  exit 1; \
	fi

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json $(WEB)/package.json | web-system-deps
	npm ci --prefix $(WEB) --no-audit --no-fund --ignore-scripts
	touch $@

## Captures des publications (Chromium), montrées dans le README : docs/screenshots/*.png.
screenshots: web-deps
	$(CARGO) test --locked --test publish -- --ignored screenshots --nocapture

clean:
	rm -rf $(VENV) target
