#!/usr/bin/env python3
"""Lit un message comme le paquet `email` de Python (lecteur indépendant de lettre) et le décrit en JSON.

    python tests/smtp/inspect.py FILE.eml

Une ligne JSON sur stdout, sortie 0 (1 si le fichier est illisible) :
  {"content_type": "multipart/alternative",
   "parts": ["text/plain", "text/html"],          # types des parties feuilles, dans l'ordre
   "headers": {"subject": ["…décodé…"], ...},     # noms en minuscules ; valeurs décodées (RFC 2047)
                                                   # et dépliées, une par occurrence
   "raw_headers": "From: …\\r\\nSubject: =?utf-8?…",  # le bloc d'en-têtes tel que reçu
   "text": "…", "html": "…",                       # première partie text/plain et text/html, décodées
                                                   # (null si absente)
   "defects": ["…"]}                               # défauts relevés par le parseur (message, parties,
                                                   # en-têtes) : [] pour un message bien formé
"""

import os
import sys

# Ce dossier contient inspect.py (lu par les tests Rust), qui masquerait le module standard
# `inspect` (attrs, donc aiosmtpd, en a besoin) : on retire ce dossier du chemin d'import, comme
# le ferait `python -P`.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]


import json
from email import policy
from email.parser import BytesParser


def describe(raw):
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    raw_headers = raw[: end if end >= 0 else len(raw)].decode("utf-8", "replace")

    headers = {}
    defects = []
    for name, value in msg.items():
        headers.setdefault(name.lower(), []).append(str(value))
        for d in getattr(value, "defects", ()):
            defects.append("en-tête %s : %s: %s" % (name, type(d).__name__, d))

    parts, text, html = [], None, None
    for part in msg.walk():
        for d in part.defects:
            defects.append("%s : %s: %s" % (part.get_content_type(), type(d).__name__, d))
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        parts.append(ctype)
        if ctype in ("text/plain", "text/html") and part.get_content_disposition() != "attachment":
            try:
                content = part.get_content()
            except (LookupError, UnicodeError) as e:
                defects.append("%s : contenu illisible : %s" % (ctype, e))
                continue
            if ctype == "text/plain" and text is None:
                text = content
            elif ctype == "text/html" and html is None:
                html = content

    return {"content_type": msg.get_content_type(), "parts": parts, "headers": headers,
            "raw_headers": raw_headers, "text": text, "html": html, "defects": defects}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage : inspect.py FILE.eml", file=sys.stderr)
        return 2
    try:
        with open(argv[0], "rb") as f:
            raw = f.read()
    except OSError as e:
        print(json.dumps({"error": str(e)}, ensure_ascii=False))
        return 1
    print(json.dumps(describe(raw), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
