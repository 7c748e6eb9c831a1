# veille — tâches courantes. `make run` : le démon ; `make test` : toute la suite.
CARGO  ?= cargo
VENV   := .venv
PYTHON := $(VENV)/bin/python
FEEDPARSER_VERSION := 6.0.14
## Paquets Python des tests, figés : feedparser (oracle d'analyse), aiosmtpd (tests/smtp/sink.py),
## dkimpy et PyNaCl pour Ed25519 (tests/smtp/dkim_verify.py), openpyxl (fichiers XLSX d'essai),
## croniter (oracle des heures de planification), prometheus-client (lecture de /metrics) et
## trafilatura (extraction d'articles, comparée à veille par `make bench` ; lxml-html-clean lui
## est nécessaire depuis lxml 5.2) et datasketch (MinHashLSH, comparé au regroupement en
## histoires par `make bench`).
PY_PACKAGES := feedparser==$(FEEDPARSER_VERSION) aiosmtpd==1.4.6 dkimpy==1.1.8 pynacl==1.6.2 \
               openpyxl==3.1.5 croniter==7.0.0 prometheus-client==0.26.0 \
               trafilatura==2.3.1 lxml-html-clean==0.4.7 datasketch==2.0.0

FUZZ_SECS ?= 60

.PHONY: fuzz run test bench lint deps build release clean web-deps system-deps bench-system-deps \
        web-system-deps screenshots FORCE

## Le démon sur feeds.toml : relèves, panoramas et brouillons planifiés, site sur 127.0.0.1:8080
## (Ctrl-C pour arrêter). Une seule relève, sans démon : ./target/release/veille fetch
run: release
	./target/release/veille run

release:
	$(CARGO) build --release --locked

build:
	$(CARGO) build --locked

## Toute la suite : format, lint, tests unitaires, de bout en bout et de conformité. La dernière
## ligne compte les tests ignorés faute de ../shared (données de tiers absentes) : libtest les
## marque « ignored, ../shared/fixtures absent », les benchmarks lancés en fumée aussi. La sortie
## complète reste dans target/make-test.log.
TEST_LOG := target/make-test.log
## The suites that run a second time with the store on PostgreSQL (make test). Left out: what
## is SQLite's by nature (backup: VACUUM INTO; disk: a full disk under the archive's file), what
## never opens a store (conformance, fuzz, layers, sisimai); network_panorama too: its centres
## share a cluster it starts itself, so the first pass already runs it on PostgreSQL.
## store_backends starts its own clusters, but its workspaces' tests (French errors of the store)
## run on the shared one here.
PG_SUITES := alerts bounces centres centres_editions centres_people clicks crash daemon extraction fetch french fulltext learning mail \
  mail_people opml order preferences publish secrets store_backends stories suggest tagging triage web_abuse
test: deps lint
	node --test $(WEB)/test/
	@mkdir -p target
	@{ $(CARGO) test --locked --all-targets --no-fail-fast 2>&1; echo $$? > $(TEST_LOG).status; } \
	  | tee $(TEST_LOG)
	@# The full-disk tests mount a tmpfs: #[ignore]d (shown as such) unless run here as root.
	@if [ "$$(id -u)" = 0 ]; then \
	  { $(CARGO) test --locked --test disk -- --ignored --test-threads 1 2>&1; echo $$? > $(TEST_LOG).disk; } \
	    | tee -a $(TEST_LOG); \
	else echo "tests/disk.rs (disque plein) ignorés : ils demandent root (mount tmpfs)"; echo 0 > $(TEST_LOG).disk; fi
	@# The same store tests and end-to-end suites again with the store on PostgreSQL: a throwaway
	@# cluster (tests/with-postgres), one fresh database per test.
	@echo "== les mêmes tests, base sur PostgreSQL ==" | tee -a $(TEST_LOG)
	@{ tests/with-postgres $(CARGO) test --locked --no-fail-fast --lib $(PG_SUITES:%=--test %) 2>&1; \
	  echo $$? > $(TEST_LOG).pg; } | tee -a $(TEST_LOG)
	@status=$$(cat $(TEST_LOG).status); \
	[ "$$status" != 0 ] || status=$$(cat $(TEST_LOG).disk); \
	[ "$$status" != 0 ] || status=$$(cat $(TEST_LOG).pg); \
	skipped=$$(grep -c 'ignored, \.\./shared/fixtures absent' $(TEST_LOG)); \
	if [ "$$status" = 0 ]; then \
	  echo "make test : tout est passé ; $$skipped tests ignorés faute de ../shared"; \
	else \
	  echo "make test : échecs (voir plus haut) ; $$skipped tests ignorés faute de ../shared" >&2; \
	  exit $$status; \
	fi

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings -D clippy::too_many_lines

## Benchmarks (figures printed; compare side by side with Python feedparser; send: SMTP to
## Postfix smtp-sink, against smtp-source; daemon: 300 sources × 1,000 cycles in compressed
## time, memory and CPU per cycle; network: 19 centres' lists on one PostgreSQL polled by 1, 2
## and 4 daemons, and by one on SQLite; web: veille serve next to nginx under wrk, and slowloris).
bench: deps bench-system-deps release
	$(CARGO) bench --locked --bench parse --bench fetch --bench dedup --bench search --bench send \
	  --bench triage --bench daemon --bench extract --bench network
	benches/web_load.sh target/release/veille

## Fuzzing (stable Rust, tests/fuzz.rs): each target for FUZZ_SECS seconds (60 by default ; 600
## for the long campaigns: make fuzz FUZZ_SECS=600), low priority; new crashes go to
## tests/fuzz/crashes/ and become regression tests. FUZZ_TARGETS=feed,cron to choose.
fuzz:
	FUZZ_SECS=$(FUZZ_SECS) nice -n 19 $(CARGO) test --locked --test fuzz -- --ignored campaigns --nocapture

## What the tests need beyond Rust: Python feedparser as an independent oracle and the SMTP test
## tools (tests/smtp), in a local venv; SpamAssassin; the HTML checks (tools/web: W3C Nu validator,
## axe-core in Chromium).
## postfix (smtp-sink, smtp-source) too: `cargo test --all-targets` runs the send benchmark as a
## smoke test.
deps: $(VENV)/.ready web-deps bench-system-deps

## $(VENV)/.packages garde la liste installée ; il n'est réécrit (et .ready refait, pip compris, dans
## un .venv existant) que si PY_PACKAGES change.
$(VENV)/.ready: $(VENV)/.packages
	@command -v python3 >/dev/null || { echo "python3 est requis (paquet Debian python3 et python3-venv)"; exit 1; }
	[ -x $(PYTHON) ] || python3 -m venv $(VENV) || { echo "impossible de créer $(VENV) : installez le paquet Debian python3-venv"; exit 1; }
	$(PYTHON) -m pip install --quiet --disable-pip-version-check $(PY_PACKAGES)
	touch $@

$(VENV)/.packages: FORCE
	@mkdir -p $(VENV)
	@[ "$$(cat $@ 2>/dev/null)" = "$(PY_PACKAGES)" ] || echo "$(PY_PACKAGES)" > $@

FORCE:

## Contrôles HTML : java (vnu.jar), chromium (axe-core), node et npm, puis les paquets npm figés
## de tools/web.
WEB := tools/web
web-deps: system-deps $(WEB)/node_modules/.package-lock.json

## Paquets Debian des tests : java, chromium, nodejs, npm (contrôles HTML), spamassassin (note
## hors ligne des lettres, tests/smtp/spamcheck.sh), libsisimai-perl (Sisimai, l'analyseur de
## référence des retours, tests/bounces.rs), dovecot-imapd (le serveur IMAP que les tests des
## retours démarrent sur 127.0.0.1 avec leur propre configuration) et postgresql (initdb, pg_ctl :
## les tests du second moteur de stockage démarrent leur PostgreSQL jetable, tests/support/postgres.rs ;
## en root, sous le compte postgres). En root, installe ceux qui manquent ; sinon dit
## lesquels installer. spamassassin vient sans ses recommandations (ni le démon spamd, ni sa-compile
## et son compilateur : les règles compilées ne raccourcissent pas un passage ici, ~1,2 s).
system-deps:
	@missing=""; lean=""; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	[ -x "$${CHROMIUM:-/usr/bin/chromium}" ] || missing="$$missing chromium"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v spamassassin >/dev/null || lean="$$lean spamassassin"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v tmux >/dev/null || missing="$$missing tmux"; \
	[ -f /usr/share/perl5/Sisimai.pm ] || lean="$$lean libsisimai-perl"; \
	[ -x /usr/sbin/dovecot ] || lean="$$lean dovecot-imapd"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || lean="$$lean postgresql"; \
	$(INSTALL_MISSING); \
	case "$$lean" in *postgresql*) if command -v pg_lsclusters >/dev/null; then \
	  pg_lsclusters -h | while read -r version cluster rest; do \
	    echo "postgresql a démarré un serveur système ($$version/$$cluster) : arrêt (les tests lancent le leur)"; \
	    pg_ctlcluster "$$version" "$$cluster" stop 2>/dev/null || true; done; fi;; esac; \
	if pidof /usr/sbin/dovecot >/dev/null && [ -e /etc/dovecot/dovecot.conf ] && [ "$$(id -u)" = 0 ]; then \
	  echo "dovecot a démarré un serveur IMAP système : arrêt (les tests lancent le leur)"; \
	  doveadm stop 2>/dev/null || true; \
	fi

## Pour make bench seulement : wrk et nginx (charge du serveur web, benches/web_load.sh) ;
## linux-perf (perf record / perf stat : les profils qui guident les optimisations) ;
## postfix, pour ses outils smtp-sink et smtp-source (en root, smtp-sink
## veut -u nobody). Installé sans configuration (debconf « No configuration ») : aucun serveur de
## courrier ne démarre ; on le vérifie.
bench-system-deps:
	@missing=""; lean=""; \
	[ -x /usr/sbin/smtp-sink ] && [ -x /usr/sbin/smtp-source ] || lean=" postfix"; \
	command -v wrk >/dev/null || lean="$$lean wrk"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || lean="$$lean nginx"; \
	command -v perf >/dev/null || lean="$$lean linux-perf"; \
	[ -z "$$lean" ] || [ "$$(id -u)" != 0 ] || \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	$(INSTALL_MISSING); \
	if [ -n "$$lean" ] && pidof /usr/lib/postfix/sbin/master >/dev/null; then \
	  echo "postfix a démarré un serveur de courrier : arrêt"; postfix stop; \
	fi; \
	case "$$lean" in *nginx*) if [ -f /run/nginx.pid ] && pidof nginx >/dev/null; then \
	  echo "nginx a démarré un site par défaut : arrêt"; nginx -s quit; fi;; esac

## Ancien nom.
web-system-deps: system-deps

## Installe (root) ou nomme (sinon) les paquets Debian manquants : ceux de $$missing avec leurs
## recommandations, ceux de $$lean sans.
INSTALL_MISSING = [ -z "$$missing$$lean" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installation des paquets Debian :$$missing$$lean"; \
	  apt-get update -qq || exit 1; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
	  [ -z "$$lean" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$lean || exit 1; \
	else \
	  echo "paquets Debian manquants :$$missing$$lean (installez-les en root : apt-get install$$missing$$lean)" >&2; \
	  exit 1; \
	fi

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json $(WEB)/package.json | system-deps
	npm ci --prefix $(WEB) --no-audit --no-fund --ignore-scripts
	touch $@

## Captures des publications (Chromium), montrées dans le README : docs/screenshots/*.png.
screenshots: web-deps
	$(CARGO) test --locked --test publish -- --ignored screenshots --nocapture

clean:
	rm -rf $(VENV) target
