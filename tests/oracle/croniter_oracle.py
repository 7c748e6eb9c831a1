"""Independent oracle for tests/daemon.rs: the next run times that Python croniter gives.

Input (stdin): {"timezone": "Europe/Paris", "cases": [[expr, from_rfc3339, count], ...]}.
Output (stdout): a JSON list, one list of RFC 3339 strings (with their UTC offset, to the
second) per case, in the input order.

The start time is converted to the timezone first (zoneinfo), so that croniter walks local
wall-clock time as veille does; croniter's own DST handling decides the rest.
"""

import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter


def main():
    request = json.load(sys.stdin)
    tz = ZoneInfo(request["timezone"])
    out = []
    for expr, start, count in request["cases"]:
        begin = datetime.fromisoformat(start).astimezone(tz)
        it = croniter(expr, begin)
        out.append([it.get_next(datetime).isoformat(timespec="seconds") for _ in range(count)])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
