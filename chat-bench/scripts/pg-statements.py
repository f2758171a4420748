#!/usr/bin/env python3
"""PostgreSQL's own time per statement, summed from its log.

Reads the server log from a byte offset (taken just before the part of a run to measure) and
sums the `duration:` lines that `log_min_duration_statement = 0` writes, per statement text:
parse, bind and execute of one prepared statement count as one statement. With --messages N it
also prints each statement's time per stored message.

    ALTER DATABASE chat_bench SET log_min_duration_statement = 0;
    OFFSET=$(stat -c %s /var/log/postgresql/postgresql-15-main.log)   # just before the run
    ... the run ...
    pg-statements.py --from "$OFFSET" --database chat_bench --messages 45000

`pg-writer-cost.sh` does all of that around one chat-bench run.
"""
import argparse
import re
import sys
from collections import defaultdict

LINE = re.compile(
    r"@(?P<db>\S+) LOG:\s+duration: (?P<ms>[0-9.]+) ms\s+"
    r"(?:(?P<phase>parse|bind|execute) [^:]*|statement): (?P<sql>.*)$"
)


def statement_key(sql: str, width: int) -> str:
    text = " ".join(sql.split())
    # Numbered placeholders and literals differ between otherwise equal statements.
    text = re.sub(r"\$\d+", "$n", text)
    return text[:width]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", default="/var/log/postgresql/postgresql-15-main.log")
    ap.add_argument("--from", dest="offset", type=int, default=0, help="byte offset to start at")
    ap.add_argument("--database", help="only this database's statements")
    ap.add_argument("--messages", type=int, help="stored messages in the measured part")
    ap.add_argument("--width", type=int, default=72, help="characters of a statement shown")
    ap.add_argument("--skip", default="pg-writer-cost", help="ignore statements containing this")
    args = ap.parse_args()

    total_ms = defaultdict(float)
    executions = defaultdict(int)
    with open(args.log, "rb") as f:
        f.seek(args.offset)
        for raw in f:
            m = LINE.search(raw.decode("utf-8", "replace"))
            if not m or (args.database and m["db"] != args.database):
                continue
            if args.skip and args.skip in m["sql"]:
                continue
            key = statement_key(m["sql"], args.width)
            total_ms[key] += float(m["ms"])
            if m["phase"] in (None, "execute"):
                executions[key] += 1

    if not total_ms:
        print("no duration lines: is log_min_duration_statement = 0 set on the database?", file=sys.stderr)
        return 1
    per = args.messages
    print(f"{'ms':>10} {'runs':>8} {'us/msg' if per else '':>8}  statement")
    for key, ms in sorted(total_ms.items(), key=lambda kv: -kv[1]):
        per_msg = f"{ms * 1000 / per:8.1f}" if per else ""
        print(f"{ms:10.1f} {executions[key]:8d} {per_msg:>8}  {key}")
    whole = sum(total_ms.values())
    per_msg = f"{whole * 1000 / per:8.1f}" if per else ""
    print(f"{whole:10.1f} {sum(executions.values()):8d} {per_msg:>8}  (all statements)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
