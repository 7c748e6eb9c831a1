#!/usr/bin/env python3
"""Puits SMTP de test : un vrai serveur (aiosmtpd) sur 127.0.0.1 qui écrit chaque message accepté.

    python tests/smtp/sink.py --port PORT --dir DIR [--tempfail-first N] [--reject ADDR]...
                              [--tempfail-rcpt ADDR:N]... [--auth USER:PASS] [--host H] [--verbose]
                              [--no-smtputf8] [--pipelining]

Une fois à l'écoute, imprime une seule ligne `READY <port>` sur stdout (puis plus rien).
Chaque message accepté donne, écrits de façon atomique (fichier temporaire puis rename) AVANT la
réponse 250 au DATA :
  DIR/<seq>-<premier-destinataire>.eml   les octets exacts reçus (contenu DATA, CRLF tels quels,
                                          point de transparence retiré)
  DIR/<seq>.json                          {"seq", "mail_from", "rcpt_tos", "received_at", ...}
<seq> est sur 6 chiffres (000001, 000002…) : l'ordre alphabétique est l'ordre d'arrivée. Le .json est
écrit après le .eml : sa présence garantit que le .eml est complet.
"""

import os
import sys

# Ce dossier contient inspect.py (lu par les tests Rust), qui masquerait le module standard
# `inspect` (attrs, donc aiosmtpd, en a besoin) : on retire ce dossier du chemin d'import, comme
# le ferait `python -P`.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]


import argparse
import asyncio
import datetime
import json
import logging
import re
import signal
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

log = logging.getLogger("sink")

TEMPFAIL = "451 4.3.0 Try again later"
REJECT = "550 5.1.1 Mailbox unknown"


def norm(addr):
    """Comparaison des adresses sans tenir compte de la casse ni des chevrons."""
    return addr.strip().strip("<>").casefold()


def safe_name(addr, limit=150):
    """Adresse utilisable dans un nom de fichier (pas de /, de NUL ni de caractère de contrôle)."""
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", addr) or "_"
    while len(name.encode("utf-8")) > limit:
        name = name[:-1]
    return name


def first_free_seq(directory):
    """Reprend après le plus grand numéro déjà présent, pour ne jamais écraser un message."""
    top = 0
    for entry in os.listdir(directory):
        m = re.match(r"(\d+)[-.]", entry)
        if m:
            top = max(top, int(m.group(1)))
    return top + 1


def write_atomic(directory, name, data):
    """Fichier temporaire caché puis rename : un lecteur ne voit jamais un fichier incomplet. Le nom
    temporaire dérive du numéro de séquence, unique : pas de collision entre connexions ; il finit
    par .tmp, jamais par .eml ni .json, pour qu'un lecteur qui filtre par extension l'ignore."""
    tmp = os.path.join(directory, "." + name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(directory, name))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Sink:
    """Handler aiosmtpd. Tout tourne dans la seule boucle asyncio : les compteurs n'ont pas besoin
    de verrou, et les numéros restent uniques quel que soit le nombre de connexions."""

    def __init__(self, directory, tempfail_first, reject, tempfail_rcpt, pipelining=False):
        self.dir = directory
        self.pipelining = pipelining
        self.next_seq = first_free_seq(directory)
        self.tempfail_left = tempfail_first
        self.reject = {norm(a) for a in reject}
        self.tempfail_rcpt = dict(tempfail_rcpt)  # adresse normalisée -> échecs restants

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd lit les commandes ligne à ligne : il sait les recevoir groupées (RFC 2920),
        # il ne l'annonce simplement pas. Avec --pipelining, il l'annonce.
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Preuve du pipelining côté serveur : la commande DATA est déjà arrivée (encore dans le
        # tampon de lecture d'aiosmtpd, attribut interne) quand le RCPT TO est traité.
        reader = getattr(server, "_reader", None)
        envelope.sink_pipelined = b"DATA" in bytes(getattr(reader, "_buffer", b""))
        # Une transaction (MAIL FROM … DATA ; RSET ou un nouveau MAIL en ouvrent une autre) est
        # comptée une fois, à son premier RCPT TO ; si elle fait partie des N premières, tous ses
        # RCPT TO reçoivent 451.
        if not hasattr(envelope, "sink_tempfail"):
            envelope.sink_tempfail = self.tempfail_left > 0
            if envelope.sink_tempfail:
                self.tempfail_left -= 1
        if envelope.sink_tempfail:
            return TEMPFAIL
        key = norm(address)
        if key in self.reject:
            return REJECT
        if self.tempfail_rcpt.get(key, 0) > 0:
            self.tempfail_rcpt[key] -= 1
            return TEMPFAIL
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if not envelope.rcpt_tos:  # aiosmtpd refuse déjà DATA sans destinataire ; par prudence
            return "554 5.5.1 No valid recipients"
        seq = self.next_seq
        self.next_seq += 1
        stem = "%06d" % seq
        eml = "%s-%s.eml" % (stem, safe_name(envelope.rcpt_tos[0]))
        meta = {
            "seq": seq,
            "eml": eml,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "received_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="microseconds").replace("+00:00", "Z"),
            "mail_options": list(envelope.mail_options),
            "auth_user": _auth_login(session),
            "size": len(envelope.original_content),
            "pipelined": getattr(envelope, "sink_pipelined", False),
        }
        os.makedirs(self.dir, exist_ok=True)  # un test peut vider le dossier (et le supprimer)
        write_atomic(self.dir, eml, envelope.original_content)
        write_atomic(self.dir, stem + ".json",
                     (json.dumps(meta, ensure_ascii=False) + "\n").encode("utf-8"))
        log.info("%s <- %s -> %s", eml, envelope.mail_from, envelope.rcpt_tos)
        return "250 2.0.0 OK queued as %s" % stem


def _auth_login(session):
    data = getattr(session, "auth_data", None)
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", "replace")
    return None


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode("utf-8")
              and auth_data.password == password.encode("utf-8"))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticator


def parse_args(argv):
    p = argparse.ArgumentParser(description="Puits SMTP de test (aiosmtpd).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="0 : un port libre")
    p.add_argument("--dir", required=True, help="dossier des messages reçus (créé s'il manque)")
    p.add_argument("--tempfail-first", type=int, default=0, metavar="N",
                   help="les N premières transactions (toutes connexions) : 451 au RCPT TO")
    p.add_argument("--reject", action="append", default=[], metavar="ADDR",
                   help="550 au RCPT TO de cette adresse (répétable)")
    p.add_argument("--tempfail-rcpt", action="append", default=[], metavar="ADDR:N",
                   help="451 pour les N premiers RCPT TO de cette adresse (répétable)")
    p.add_argument("--auth", metavar="USER:PASS",
                   help="exige AUTH PLAIN ou LOGIN avec ces identifiants (sans TLS)")
    p.add_argument("--no-smtputf8", action="store_true",
                   help="n'annonce pas SMTPUTF8 (RFC 6531) : un serveur qui ne prend que des adresses ASCII")
    p.add_argument("--pipelining", action="store_true",
                   help="annonce PIPELINING (RFC 2920) ; chaque .json dit si MAIL, RCPT et DATA "
                        "sont arrivés ensemble (\"pipelined\")")
    p.add_argument("--verbose", action="store_true",
                   help="journal de chaque message sur stderr (sinon : erreurs seulement)")
    args = p.parse_args(argv)
    tempfail_rcpt = []
    for item in args.tempfail_rcpt:
        addr, sep, n = item.rpartition(":")
        if not sep or not addr or not n.isdigit():
            p.error("--tempfail-rcpt attend ADDR:N, pas %r" % item)
        tempfail_rcpt.append((norm(addr), int(n)))
    args.tempfail_rcpt = tempfail_rcpt
    if args.auth is not None and ":" not in args.auth:
        p.error("--auth attend USER:PASS")
    return args


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    handler = Sink(args.dir, args.tempfail_first, args.reject, args.tempfail_rcpt,
                   args.pipelining)
    smtp_kwargs = dict(
        enable_SMTPUTF8=not args.no_smtputf8,  # 8BITMIME est toujours annoncé par aiosmtpd
        decode_data=False,           # envelope.original_content : les octets tels que reçus
        hostname="sink.localhost",   # sinon socket.getfqdn() à chaque connexion (DNS, lent)
        timeout=60,
    )
    if args.auth is not None:
        user, _, password = args.auth.partition(":")
        smtp_kwargs.update(authenticator=make_authenticator(user, password),
                           auth_required=True, auth_require_tls=False)
        # aiosmtpd avertit à chaque connexion (à raison, hors boucle locale) qu'AUTH sans TLS est
        # risqué : ici, c'est voulu.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, loop=loop, **smtp_kwargs),
                                      host=args.host, port=args.port)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # Arrêt : plus d'acceptation. Les écritures étant atomiques et faites avant le 250, un message
    # est soit entièrement présent, soit absent.
    # asyncio.run annule ensuite les sessions restantes (jamais au milieu d'une écriture : elle est
    # synchrone).
    server.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    level = logging.INFO if args.verbose else logging.ERROR
    logging.basicConfig(stream=sys.stderr, level=level, format="sink: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.INFO if args.verbose else logging.ERROR)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
