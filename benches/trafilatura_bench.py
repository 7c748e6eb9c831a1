"""Python trafilatura side of `benches/extract.rs`: the same pages, extracted the same way.

Usage: trafilatura_bench.py MIN_SECONDS ZYTE_DIR

Reads every page of ZYTE_DIR/html (gzip) into memory with its URL from ground-truth.json,
runs one untimed warm-up round (whose texts are returned, for scoring by the Rust side),
then times only the `trafilatura.extract` loops, whole rounds until MIN_SECONDS have
passed, and prints one JSON object on stdout:
{"implementation", "version", "pages", "rounds", "seconds", "texts": {id: text}}
"""

import gzip
import json
import sys
import time

import trafilatura


def main():
    min_seconds = float(sys.argv[1])
    root = sys.argv[2]
    with open(f"{root}/ground-truth.json", encoding="utf-8") as f:
        truth = json.load(f)
    pages = []
    for page_id, item in sorted(truth.items()):
        with gzip.open(f"{root}/html/{page_id}.html.gz", "rb") as f:
            raw = f.read()
        pages.append((page_id, item["url"], raw.decode("utf-8", errors="replace")))

    texts = {}
    for page_id, url, html in pages:
        texts[page_id] = trafilatura.extract(html, url=url) or ""

    rounds = 0
    start = time.perf_counter()
    while True:
        for _, url, html in pages:
            trafilatura.extract(html, url=url)
        rounds += 1
        seconds = time.perf_counter() - start
        if seconds >= min_seconds:
            break
    print(
        json.dumps(
            {
                "implementation": "trafilatura",
                "version": trafilatura.__version__,
                "pages": len(pages),
                "rounds": rounds,
                "seconds": seconds,
                "texts": texts,
            }
        )
    )


if __name__ == "__main__":
    main()
