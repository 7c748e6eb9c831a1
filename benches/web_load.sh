#!/bin/sh
# Load test of `veille serve` next to nginx serving the same files, in the same run (wrk):
# requests/s, p99 latency and errors for a panorama fragment; the subscription form (veille
# only: nginx has none); and 500 slowloris connections while /healthz must answer within 1 s.
# Usage: benches/web_load.sh [VEILLE_BINARY]   (make bench passes the release binary)
set -eu
BIN=${1:-target/release/veille}
SECS=${WEB_BENCH_SECS:-10}
CONNECTIONS=${WEB_BENCH_CONNECTIONS:-64}
BIN=$(realpath "$BIN")
work=$(mktemp -d)
veille_pid=""
cleanup() {
  [ -n "$veille_pid" ] && kill "$veille_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
VPORT=$(port); NPORT=$(port)

mkdir -p "$work/archive/published/panoramas"
# The repository's templates: without them every form answer was a 500 (the error page), not
# the pages a reader (or a flood) gets.
templates=$(realpath "$(dirname "$0")/../templates")
printf '[settings]\nuser_agent = "veille-bench/0.1 (+https://example.org/contact)"\n\n[publish]\ntemplates = "%s"\n\n[lists.lettre]\ntitle = "Lettre"\n' "$templates" > "$work/feeds.toml"
# A fragment of the size of a real panorama (~40 items, ~24 KB).
{
  echo '<section class="panorama"><h2>Logement</h2><ol>'
  i=1; while [ $i -le 40 ]; do
    echo "<li><a href=\"https://www.example.org/article/$i\">Précarité énergétique : un titre d'article numéro $i assez long</a> <span>Le Monde · 27 novembre 2026</span><p>Un résumé de deux phrases pour l'article $i, comme les panoramas en montrent. Avec des accents : é à ç ô.</p></li>"
    i=$((i + 1))
  done
  echo '</ol></section>'
} > "$work/archive/published/panoramas/logement.fragment.html"

"$BIN" --config "$work/feeds.toml" --archive "$work/archive" serve --listen "127.0.0.1:$VPORT" 2>"$work/veille.log" &
veille_pid=$!
cat > "$work/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 2048; }
http {
  access_log off;
  include /etc/nginx/mime.types;
  server { listen 127.0.0.1:$NPORT; root $work/archive/published; }
}
CONF
# nginx's workers run as an unprivileged user when started by root: they must read the files.
chmod -R a+rX "$work"
nginx -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log"
i=0; until curl -sf "http://127.0.0.1:$VPORT/healthz" >/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && { echo "veille serve ne répond pas"; cat "$work/veille.log"; exit 1; }; sleep 0.1
done

run() { # label url [script]
  if [ -n "${3:-}" ]; then out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECS}s" --latency -s "$3" "$2"); else out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECS}s" --latency "$2"); fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); non2xx=${non2xx:-0}
  sock=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}'); sock=${sock:-0}
  printf '%-34s %10s req/s  p99 %9s  %9s requêtes  non-2xx %s  erreurs de socket %s\n' "$1" "$rps" "$p99" "$total" "$non2xx" "$sock"
}
echo "wrk : $SECS s, $CONNECTIONS connexions, 2 fils ; veille : $BIN"
run "fragment, veille serve" "http://127.0.0.1:$VPORT/panoramas/logement.fragment.html"
run "fragment, nginx" "http://127.0.0.1:$NPORT/panoramas/logement.fragment.html"
# The form's CSRF token, taken once from the page as a browser would (valid for hours).
token=$(curl -sf "http://127.0.0.1:$VPORT/abonnement" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$token" ] || { echo "jeton CSRF introuvable sur /abonnement"; exit 1; }
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "email=lecteur%40example.org&liste=lettre&csrf=$token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
# One client address with a valid token: past the per-IP limit ([web] subscribe_per_minute)
# veille answers 429; the figures are those of the refusal path a flood meets.
run "formulaire d'abonnement, veille" "http://127.0.0.1:$VPORT/abonnement" "$work/post.lua"

# Slowloris: 500 connections that never finish their request, then /healthz.
python3 - "$VPORT" <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
held = []
for _ in range(500):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Lent: ")
    held.append(s)
began = time.monotonic()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
    status = r.status
took = time.monotonic() - began
print(f"slowloris : 500 connexions lentes ouvertes, /healthz {status} en {took * 1000:.1f} ms"
      f" ({'moins' if took < 1 else 'PLUS'} d'une seconde)")
time.sleep(16)
closed = 0
for s in held:
    s.settimeout(0.01)
    try:
        if s.recv(1) == b"":
            closed += 1
    except (ConnectionResetError, BrokenPipeError):
        closed += 1
    except OSError:
        pass
print(f"slowloris : {closed}/500 connexions fermées par veille après 16 s d'inactivité")
PY
