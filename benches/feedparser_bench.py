"""Python feedparser side of `benches/parse.rs`: the same files, parsed in the same way.

Usage: feedparser_bench.py MIN_SECONDS FILE...

Reads every file into memory first, runs one untimed warm-up round (which also gives the
counts of one round), then times only the `feedparser.parse(bytes)` loops, whole rounds
over all files until MIN_SECONDS have passed, and prints one JSON object on stdout:
{"implementation", "version", "files", "bozo", "rounds", "items", "seconds"}
where `items` counts the entries of all rounds and `bozo` the files feedparser found
ill-formed (it still returns what it could read of them).
"""

import json
import sys
import time

import feedparser


def one_round(blobs):
    items = 0
    for blob in blobs:
        items += len(feedparser.parse(blob).entries)
    return items


def main():
    min_seconds = float(sys.argv[1])
    blobs = []
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            blobs.append(f.read())

    parsed = [feedparser.parse(blob) for blob in blobs]
    per_round = sum(len(p.entries) for p in parsed)
    bozo = sum(1 for p in parsed if p.bozo)

    rounds, items = 0, 0
    start = time.perf_counter()
    while True:
        items += one_round(blobs)
        rounds += 1
        seconds = time.perf_counter() - start
        if seconds >= min_seconds:
            break
    assert items == per_round * rounds, "feedparser gave different counts between rounds"

    json.dump(
        {
            "implementation": "feedparser",
            "version": feedparser.__version__,
            "files": len(blobs),
            "bozo": bozo,
            "rounds": rounds,
            "items": items,
            "seconds": seconds,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
