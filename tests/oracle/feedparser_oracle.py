"""Independent oracle for tests/conformance.rs: what Python feedparser reads in the same bytes.

Input (stdin): a JSON list of cases, each either ``[path, content_type, base]`` or
``[path, content_type, base, skip_unless]``; ``content_type`` may be null.
Output (stdout): one JSON object per case, one per line, in the input order:

    {"path": ..., "bozo": bool, "skipped": str|null, "error": str|null,
     "feed": {"title": str|null, "link": str|null},
     "entries": [{"title": str|null, "link": str|null, "date": str|null}, ...]}

Normalisation done here, so that the Rust side compares plain values:
- titles whose ``title_detail.type`` is HTML or XHTML are turned into plain text (tags
  removed, entities unescaped, a space at block elements, nothing kept from script/style),
  because veille's titles are plain text; ``text/plain`` titles are kept as they are.
  Whitespace is collapsed on the Rust side, for both parsers alike.
- dates are ``published_parsed`` or else ``updated_parsed`` (the same precedence as veille),
  printed as UTC RFC 3339 to the second; unrepresentable values become null.
- the HTTP context: ``Content-Location`` is the base URL veille gets as ``base_url``; when the
  case has no Content-Type, feedparser is given ``application/xml``, which its encoding
  rules treat exactly like "no HTTP headers at all" (XML declaration, else UTF-8). Giving it
  a header dict without Content-Type would instead make it assume ISO-8859-1.
- ``skip_unless`` is the optional condition of feedparser's own test suite (for example
  ``__import__('chardet')``); it is evaluated here as feedparser's test runner does, and a
  case whose condition fails is reported as skipped (only the no-panic pass applies).
"""

import calendar
import html.parser
import json
import sys
import time

import feedparser

BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "tr",
}


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def plain(value, detail):
    if value is None:
        return None
    kind = (detail or {}).get("type") or ""
    if "html" not in kind:
        return value
    parser = _Text()
    parser.feed(value)
    parser.close()
    # Character references are already decoded by the parser (convert_charrefs).
    return text_or_none("".join(parser.parts))


def rfc3339(struct):
    if not struct:
        return None
    try:
        stamp = calendar.timegm(struct)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def text_or_none(value):
    if not isinstance(value, str):
        return None
    # Lone surrogates (from broken character references) are not valid JSON for serde_json.
    return value.encode("utf-8", "replace").decode("utf-8")


def skip_reason(condition):
    if not condition:
        return None
    try:
        # As feedparser's test runner does with its `SkipUnless:` lines.
        if eval(condition, {"feedparser": feedparser}):  # noqa: S307 - trusted test corpus
            return None
    except Exception as error:  # noqa: BLE001 - any failure means "condition not met"
        return "%s (%s)" % (condition, type(error).__name__)
    return condition


def read(path, content_type, base):
    with open(path, "rb") as handle:
        data = handle.read()
    headers = {
        "content-type": content_type or "application/xml",
        "content-location": base,
    }
    result = feedparser.parse(data, response_headers=headers)
    feed = result.get("feed", {})
    entries = []
    for entry in result.get("entries", []):
        entries.append(
            {
                "title": plain(text_or_none(entry.get("title")), entry.get("title_detail")),
                "link": text_or_none(entry.get("link")),
                "date": rfc3339(entry.get("published_parsed") or entry.get("updated_parsed")),
            }
        )
    return {
        "bozo": bool(result.get("bozo")),
        "feed": {
            "title": plain(text_or_none(feed.get("title")), feed.get("title_detail")),
            "link": text_or_none(feed.get("link")),
        },
        "entries": entries,
    }


def main():
    cases = json.load(sys.stdin)
    out = sys.stdout
    for case in cases:
        path, content_type, base = case[0], case[1], case[2]
        skip_unless = case[3] if len(case) > 3 else None
        record = {"path": path, "bozo": False, "skipped": None, "error": None,
                  "feed": {"title": None, "link": None}, "entries": []}
        reason = skip_reason(skip_unless)
        if reason is not None:
            record["skipped"] = reason
        else:
            try:
                record.update(read(path, content_type, base))
            except Exception as error:  # noqa: BLE001 - reported, not fatal
                record["error"] = "%s: %s" % (type(error).__name__, error)
        out.write(json.dumps(record))
        out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
