"""Talks to the test's Dovecot with Python's own imaplib, independently of veille's client.

    imap_tool.py append PORT USER PASSWORD FILE...   APPEND each file to INBOX
    imap_tool.py count PORT USER PASSWORD FOLDER     prints the number of messages in FOLDER
    imap_tool.py wait PORT USER PASSWORD FOLDER N    returns once FOLDER holds at least N
"""
import imaplib
import sys
import time


def connect(port, user, password):
    m = imaplib.IMAP4("127.0.0.1", int(port))
    m.login(user, password)
    return m


def count(m, folder):
    typ, data = m.select(folder, readonly=True)
    if typ != "OK":
        return 0
    return int(data[0])


def main():
    command, port, user, password, *rest = sys.argv[1:]
    m = connect(port, user, password)
    if command == "append":
        for path in rest:
            with open(path, "rb") as f:
                typ, data = m.append("INBOX", None, None, f.read())
            if typ != "OK":
                sys.exit("APPEND %s: %s %s" % (path, typ, data))
    elif command == "count":
        print(count(m, rest[0]))
    elif command == "wait":
        folder, n = rest[0], int(rest[1])
        deadline = time.time() + 60
        while count(m, folder) < n:
            if time.time() > deadline:
                sys.exit("timeout waiting for %d messages in %s" % (n, folder))
            time.sleep(0.02)
    m.logout()


if __name__ == "__main__":
    main()
