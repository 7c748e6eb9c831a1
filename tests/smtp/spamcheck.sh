#!/usr/bin/env bash
# Note SpamAssassin d'un message, hors ligne.
#
#   tests/smtp/spamcheck.sh FILE.eml
#
# Lance `spamassassin -L -t` (tests locaux seulement : ni DNSBL, ni Razor/Pyzor, ni clé DKIM en DNS)
# avec les règles du paquet Debian (/usr/share/spamassassin), sans préférences utilisateur ni bayes
# (rien n'est écrit dans ~/.spamassassin : deux passages donnent la même note), puis imprime une ligne
# JSON lue dans le rapport :
#   {"score": -0.1, "required": 5.0, "is_spam": false,
#    "rules": [{"name": "HTML_MESSAGE", "score": 0.0, "description": "BODY: HTML included in message"}]}
# (règles rangées par points décroissants puis par nom ; points arrondis au dixième comme le rapport)
# Sortie 0 si le rapport a été lu (quelle que soit la note), 1 sinon, 2 pour l'usage.
# PYTHON peut désigner l'interpréteur Python 3 (défaut : python3).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage : $0 FILE.eml" >&2
  exit 2
fi
msg=$1
[ -r "$msg" ] || { echo "spamcheck : fichier illisible : $msg" >&2; exit 1; }
command -v spamassassin >/dev/null || {
  echo "spamcheck : spamassassin manquant (paquet Debian spamassassin ; make deps l'installe en root)" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/out err=$work/err

# HOME temporaire, -x et -p /dev/null : ni lecture ni création de ~/.spamassassin ;
# use_bayes 0 : ni apprentissage automatique ni base bayésienne (note reproductible).
if ! HOME=$work spamassassin -L -t -x -p /dev/null --cf='use_bayes 0' --cf='bayes_auto_learn 0' \
    <"$msg" >"$out" 2>"$err"; then
  echo "spamcheck : spamassassin a échoué :" >&2
  cat "$err" >&2
  exit 1
fi

"${PYTHON:-python3}" - "$out" <<'PY'
import json, re, sys

text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
# Le rapport de -t suit le message : on prend la dernière occurrence.
start = text.rfind("Content analysis details:")
if start < 0:
    sys.exit("spamcheck : pas de rapport « Content analysis details » dans la sortie de spamassassin")
report = text[start:]
head = re.match(r"Content analysis details:\s+\((-?[\d.]+) points, (-?[\d.]+) required\)", report)
if not head:
    sys.exit("spamcheck : en-tête de rapport illisible : %r" % report[:120])
score, required = float(head.group(1)), float(head.group(2))

rules = []
lines = report.splitlines()
try:
    i = next(n for n, l in enumerate(lines) if l.startswith("----")) + 1
except StopIteration:
    i = len(lines)
for line in lines[i:]:
    m = re.match(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z0-9_.:]+)\s+(.*)$", line)
    if m:
        rules.append({"name": m.group(2), "score": float(m.group(1)),
                      "description": m.group(3).strip()})
    elif line.strip() and rules and line.startswith(" "):
        # description repliée sur la ligne suivante (ou détail « [URIs: …] »)
        rules[-1]["description"] += " " + line.strip()
    elif not line.strip():
        continue
    else:
        break
# SpamAssassin ne les range pas toujours dans le même ordre : du plus lourd au plus léger, puis par nom.
rules.sort(key=lambda r: (-r["score"], r["name"]))
print(json.dumps({"score": score, "required": required, "is_spam": score >= required,
                  "rules": rules}, ensure_ascii=False))
PY
