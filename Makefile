# veille — tâches courantes. `make run` : une relève ; `make test` : toute la suite.
CARGO  ?= cargo
VENV   := .venv
PYTHON := $(VENV)/bin/python
FEEDPARSER_VERSION := 6.0.14

.PHONY: run test bench lint deps build release clean

## Une relève de toutes les sources de feeds.toml, avec son résumé.
run: release
	./target/release/veille fetch

release:
	$(CARGO) build --release --locked

build:
	$(CARGO) build --locked

## Toute la suite : format, lint, tests unitaires, de bout en bout et de conformité.
test: deps lint
	$(CARGO) test --locked --all-targets --no-fail-fast
	@echo "make test : tout est passé"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Benchmarks (figures printed; compare side by side with Python feedparser).
bench: deps
	$(CARGO) bench --locked --bench parse --bench fetch --bench dedup --bench search

## What the tests need beyond Rust: Python feedparser as an independent oracle, in a local venv.
deps: $(VENV)/.ready

$(VENV)/.ready:
	@command -v python3 >/dev/null || { echo "python3 est requis (paquet Debian python3 et python3-venv)"; exit 1; }
	python3 -m venv $(VENV) || { echo "impossible de créer $(VENV) : installez le paquet Debian python3-venv"; exit 1; }
	$(PYTHON) -m pip install --quiet --disable-pip-version-check feedparser==$(FEEDPARSER_VERSION)
	touch $@

clean:
	rm -rf $(VENV) target
