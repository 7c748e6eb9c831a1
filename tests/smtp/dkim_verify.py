#!/usr/bin/env python3
"""Vérifie la signature DKIM d'un message avec dkimpy, la clé publique étant donnée en fichier.

    python tests/smtp/dkim_verify.py FILE.eml PUBKEY_FILE [--selector S --domain D]

PUBKEY_FILE : clé PEM, publique (`-----BEGIN PUBLIC KEY-----` RSA ou Ed25519, ou
`-----BEGIN RSA PUBLIC KEY-----`) ou privée RSA (PKCS#1 `openssl genrsa -traditional` ou PKCS#8) dont
on tire la clé publique ; ou directement un enregistrement DNS `v=DKIM1; k=...; p=...`.
Aucune requête DNS : la résolution de `<s>._domainkey.<d>` est remplacée par cette clé. Avec
--selector/--domain, seule cette paire est résolue (une signature faite pour un autre s=/d= échoue).

Imprime une ligne JSON sur stdout et sort avec 0 si la signature est valide, 1 sinon (2 : usage) :
  {"ok": bool, "signed_headers": [...], "canonicalization": "relaxed/relaxed", "algorithm": "rsa-sha256",
   "domain": "...", "selector": "...", "error": null | "..."}
"""

import os
import sys

# Ce dossier contient inspect.py (lu par les tests Rust), qui masquerait le module standard
# `inspect` (attrs, donc aiosmtpd, en a besoin) : on retire ce dossier du chemin d'import, comme
# le ferait `python -P`.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]


import argparse
import base64
import json
import logging
import re

import dkim
from dkim.crypto import UnparsableKeyError, parse_private_key

ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # SubjectPublicKeyInfo Ed25519


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_int(n):
    b = n.to_bytes((n.bit_length() + 8) // 8, "big")  # un octet de plus : reste positif
    return b"\x02" + der_len(len(b)) + b


def der_seq(body):
    return b"\x30" + der_len(len(body)) + body


RSA_ALGORITHM_ID = der_seq(bytes.fromhex("06092a864886f70d0101010500"))  # rsaEncryption, NULL


def rsa_spki(rsa_public_key_der):
    """SubjectPublicKeyInfo autour d'un RSAPublicKey (PKCS#1) : la forme publiée en DNS (p=)."""
    bits = b"\x00" + rsa_public_key_der
    return der_seq(RSA_ALGORITHM_ID + b"\x03" + der_len(len(bits)) + bits)


def rsa_public_der(modulus, exponent):
    return rsa_spki(der_seq(der_int(modulus) + der_int(exponent)))


def pem_blocks(text):
    return [(m.group(1), base64.b64decode("".join(m.group(2).split())))
            for m in re.finditer(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", text, re.S)]


def txt_record(key_text):
    """Le TXT DKIM1 correspondant au fichier de clé."""
    stripped = key_text.strip()
    if stripped.startswith("v=DKIM1"):
        return stripped.encode("ascii")
    blocks = pem_blocks(key_text)
    if not blocks:
        raise ValueError("aucun bloc PEM ni enregistrement v=DKIM1 dans le fichier de clé")
    label, der = blocks[0]
    if label == "PUBLIC KEY" and der.startswith(ED25519_SPKI_PREFIX) and len(der) == 44:
        k, p = "ed25519", der[len(ED25519_SPKI_PREFIX):]  # RFC 8463 : p= est la clé brute de 32 octets
    elif label == "PUBLIC KEY":
        k, p = "rsa", der
    elif label == "RSA PUBLIC KEY":
        k, p = "rsa", rsa_spki(der)
    elif label in ("RSA PRIVATE KEY", "PRIVATE KEY"):
        if label == "PRIVATE KEY" and b"\x06\x03\x2b\x65\x70" in der[:16]:
            raise ValueError("clé privée Ed25519 : donnez la clé publique (openssl pkey -pubout)")
        try:
            pk = parse_private_key(der)
        except UnparsableKeyError as e:
            raise ValueError("clé privée illisible : %s" % e)
        k, p = "rsa", rsa_public_der(pk["modulus"], pk["publicExponent"])
    else:
        raise ValueError("type de clé PEM non pris en charge : %s" % label)
    return ("v=DKIM1; k=%s; p=%s" % (k, base64.b64encode(p).decode("ascii"))).encode("ascii")


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.errors = []

    def emit(self, record):
        if record.levelno >= logging.WARNING:
            self.errors.append(record.getMessage())


def field(sig, name):
    value = sig.get(name)
    return None if value is None else value.decode("ascii", "replace").strip()


def verify(message, record, selector=None, domain=None):
    result = {"ok": False, "signed_headers": [], "canonicalization": None, "algorithm": None,
              "domain": None, "selector": None, "error": None}
    asked = []

    def dnsfunc(name, timeout=5):
        name = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        asked.append(name)
        if selector is not None and domain is not None:
            want = "%s._domainkey.%s." % (selector, domain.rstrip("."))
            if name.rstrip(".").lower() != want.rstrip(".").lower():
                return None
        return record

    collect = Collect()
    logger = logging.getLogger("dkim_verify")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(collect)
    d = dkim.DKIM(message, logger=logger)
    try:
        ok = bool(d.verify(dnsfunc=dnsfunc))
    except dkim.DKIMException as e:
        ok = False
        collect.errors.append("%s: %s" % (type(e).__name__, e))

    sig = d.signature_fields or {}
    if sig:
        result["signed_headers"] = [h.strip().decode("ascii", "replace")
                                    for h in sig.get(b"h", b"").split(b":") if h.strip()]
        c = field(sig, b"c") or "simple/simple"
        result["canonicalization"] = c if "/" in c else c + "/simple"
        result["algorithm"] = field(sig, b"a")
        result["domain"] = field(sig, b"d")
        result["selector"] = field(sig, b"s")
    if not ok:
        key_type = re.search(rb"\bk=\s*([a-z0-9]+)", record)
        key_type = key_type.group(1).decode() if key_type else "rsa"
        if not sig and not collect.errors:
            collect.errors.append("aucun en-tête DKIM-Signature")
        elif selector is not None and domain is not None and sig and (
                (result["selector"], (result["domain"] or "").lower())
                != (selector, domain.rstrip(".").lower())):
            collect.errors = ["signature pour s=%s d=%s, attendu s=%s d=%s" % (
                result["selector"], result["domain"], selector, domain)]
        elif result["algorithm"] and not result["algorithm"].startswith(key_type + "-"):
            collect.errors.append("signature %s, mais clé k=%s" % (result["algorithm"], key_type))
        elif not collect.errors:
            collect.errors.append("signature invalide (b= ne correspond pas aux en-têtes signés)")
    result["ok"] = ok
    result["error"] = "; ".join(collect.errors) if collect.errors else None
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description="Vérification DKIM hors ligne (dkimpy).")
    p.add_argument("eml")
    p.add_argument("pubkey")
    p.add_argument("--selector")
    p.add_argument("--domain")
    args = p.parse_args(argv)
    if (args.selector is None) != (args.domain is None):
        p.error("--selector et --domain vont ensemble")
    try:
        with open(args.eml, "rb") as f:
            message = f.read()
        with open(args.pubkey, encoding="ascii") as f:
            record = txt_record(f.read())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        print(json.dumps({"ok": False, "signed_headers": [], "canonicalization": None,
                          "error": str(e)}, ensure_ascii=False))
        return 1
    result = verify(message, record, args.selector, args.domain)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
