"""datasketch side of `benches/dedup.rs`: near-duplicate lookup with MinHashLSH on the same
articles, in the same order.

Usage: datasketch_bench.py FILE

FILE holds one article a line, `title<TAB>summary`. For each article, in order: the MinHash
(128 permutations) of its lower-cased words (title and the first 1,000 bytes of the summary,
as veille reads them), one LSH query for an earlier near-duplicate (Jaccard threshold 0.5),
then its insertion. Reading the file is not timed. Prints one JSON object on stdout:
{"implementation", "version", "articles", "found", "seconds"}.
"""

import json
import re
import sys
import time

import datasketch
from datasketch import MinHash, MinHashLSH

WORD = re.compile(r"\w+", re.UNICODE)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        articles = [line.rstrip("\n").split("\t", 1) for line in f]

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    found = 0
    start = time.perf_counter()
    for i, parts in enumerate(articles):
        title = parts[0]
        summary = parts[1][:1000] if len(parts) > 1 else ""
        m = MinHash(num_perm=128)
        for word in set(WORD.findall((title + " " + summary).lower())):
            m.update(word.encode("utf-8"))
        if lsh.query(m):
            found += 1
        lsh.insert(str(i), m)
    seconds = time.perf_counter() - start

    print(
        json.dumps(
            {
                "implementation": "datasketch MinHashLSH",
                "version": datasketch.__version__ if hasattr(datasketch, "__version__") else "",
                "articles": len(articles),
                "found": found,
                "seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
