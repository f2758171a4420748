#!/usr/bin/env python3
"""Reads a dhat heap profile (dhat-heap.json of a `--features dhat-heap` build) taken while N
connections were open, and lists what each connection keeps: the heap live at the profile's peak
(t-gmax), or with --at end at its end (t-end: the moment chat-server got SIGUSR1), per allocation
site, divided by N. With --against, a second profile of the same N connections (e.g. fresh, where
the first is after traffic) is subtracted site by site: what the first keeps beyond the second.

Each site is named by the frames that asked for the memory (after the allocator's and the
containers' own, --depth of them). Only sites with at least --min-blocks blocks
per connection are listed as per-connection; the rest is the process's fixed share.

    heap-per-connection.py dhat-heap.json --connections 10000 [--top 30] [--min-blocks 0.5]
    heap-per-connection.py after.json --at end --against fresh.json --connections 10000
"""
import argparse
import json
import re
from collections import defaultdict

# Allocator and container internals: skipped to find who asked for the memory. Paths in a
# line-tables build are relative to each crate, so frames are told apart by function name too.
ALLOCATOR_PATH = re.compile(r"^(alloc|core|std)/|^dhat-")
ALLOCATOR_FUNC = {
    "__rust_alloc", "alloc", "alloc_impl_runtime", "do_alloc", "allocate_in", "try_allocate_in",
    "with_capacity_in", "finish_grow", "grow_one", "grow_amortized", "reserve_rehash", "resize",
    "new_uninitialized", "fallible_with_capacity", "box_new_uninit", "exchange_malloc",
    "reserve", "do_reserve_and_handle", "try_with_capacity_in", "with_capacity",
}
FRAME = re.compile(r"^0x[0-9a-f]+: (?P<func>.*) \((?P<path>[^()]+?):\d+(?::\d+)?\)$")


def head(func):
    """`<alloc::raw_vec::RawVecInner>::try_allocate_in` or `new<T>` -> the bare name."""
    name = func.split("<", 1)[0] if not func.startswith("<") else func.rsplit("::", 1)[-1]
    return name.split("::")[-1]


def short(func, limit=90):
    return func if len(func) <= limit else func[: limit - 3] + "..."


def owner(frames, table, depth):
    """The first `depth` frames after the allocator's, as `function (file)` joined by ' < '."""
    kept = []
    for index in frames:
        m = FRAME.match(table[index])
        if not m:
            continue
        if not kept and (ALLOCATOR_PATH.match(m["path"]) or head(m["func"]) in ALLOCATOR_FUNC):
            continue
        kept.append(f"{short(m['func'])} ({m['path']})")
        if len(kept) == depth:
            break
    return " < ".join(kept) or "?"


def live_by_site(path, at, depth):
    """{site: [bytes, blocks]} live at the profile's peak or end."""
    with open(path) as f:
        data = json.load(f)
    bytes_key, blocks_key = ("gb", "gbk") if at == "peak" else ("eb", "ebk")
    table = data["ftbl"]
    sites = defaultdict(lambda: [0, 0])
    for pp in data["pps"]:
        if pp[bytes_key] == 0:
            continue
        key = owner(pp["fs"], table, depth)
        sites[key][0] += pp[bytes_key]
        sites[key][1] += pp[blocks_key]
    return sites


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--at", choices=["peak", "end"], default="peak",
                        help="the heap at the profile's peak (t-gmax) or at its end (t-end)")
    parser.add_argument("--against", help="a profile to subtract, read at the same --at")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--min-blocks", type=float, default=0.5)
    parser.add_argument("--depth", type=int, default=2, help="frames shown per site")
    args = parser.parse_args()
    n = args.connections
    sites = live_by_site(args.profile, args.at, args.depth)
    total = sum(b for b, _ in sites.values())
    if args.against:
        base = live_by_site(args.against, args.at, args.depth)
        base_total = sum(b for b, _ in base.values())
        delta = {k: [sites.get(k, [0, 0])[0] - base.get(k, [0, 0])[0],
                     sites.get(k, [0, 0])[1] - base.get(k, [0, 0])[1]]
                 for k in set(sites) | set(base)}
        print(f"heap at {args.at}: {total / 1024:,.0f} KiB against {base_total / 1024:,.0f} KiB: "
              f"{(total - base_total) / n:+,.0f} B per connection over {n:,} connections\n")
        print("| site (caller < its caller) | bytes per connection | blocks per connection |")
        print("| --- | --- | --- |")
        ranked = sorted(delta.items(), key=lambda kv: -abs(kv[1][0]))[: args.top]
        for where, (b, k) in ranked:
            print(f"| `{where}` | {b / n:+,.0f} | {k / n:+.2f} |")
        return
    per_conn = {k: v for k, v in sites.items() if v[1] / n >= args.min_blocks}
    kept = sum(b for b, _ in per_conn.values())
    print(f"heap at {args.at}: {total / 1024:,.0f} KiB; at sites with >= {args.min_blocks} blocks "
          f"per connection: {kept / n:,.0f} B per connection over {n:,} connections\n")
    print("| site (caller < its caller) | bytes per connection | blocks per connection |")
    print("| --- | --- | --- |")
    ranked = sorted(per_conn.items(), key=lambda kv: -kv[1][0])[: args.top]
    for where, (b, k) in ranked:
        print(f"| `{where}` | {b / n:,.0f} | {k / n:.2f} |")


if __name__ == "__main__":
    main()
