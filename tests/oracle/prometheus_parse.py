"""Independent check for tests/daemon.rs: parses a /metrics body (stdin) with the official
Python client's parser (prometheus_client.parser.text_string_to_metric_families), which
raises on any malformed line.

Output (stdout): {family: {"type": str, "help": str, "samples": [[name, labels, value], ...]}}.
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    families = {}
    for family in text_string_to_metric_families(sys.stdin.read()):
        families[family.name] = {
            "type": family.type,
            "help": family.documentation,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
