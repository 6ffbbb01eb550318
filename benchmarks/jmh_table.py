#!/usr/bin/env python3
"""Turns JMH JSON results (one file at 1 thread, one at 2) into a Markdown table.

Each row is one benchmark (and its parameters): ns/op with JMH's 99.9 % error at 1 and 2 threads,
bytes allocated per op (from -prof gc), the ratio to the floor it is judged against, and the ratio
to the fastest peer measured in the same group. Our own benchmarks are the methods named shepherd*.

Throughput benchmarks (the Redis ones, in ops/s, higher is better) get a second table: ops/s at 1 and
2 threads, and Shepherd's ops/s divided by the best peer's of the same kind (methods ending in
"Async" are compared with peers ending in "Async", the others with the others).
"""
import json
import sys

# The floor each group is compared with: (class, method) of the baseline.
FLOORS = {
    "RateLimiterBenchmark": ("BaselineBenchmark", "nanoTimePlusCas"),
    "BulkheadBenchmark": ("BulkheadBenchmark", "semaphore"),
    "BackoffBenchmark": ("BackoffBenchmark", "handWrittenFullJitter"),
    "AuthBenchmark": ("AuthBenchmark", "caffeineGetIfPresentPlusHmac"),
}
FLOOR_METHODS = {m for _, m in FLOORS.values()} | {"nanoTime", "casLoop", "nanoTimePlusCas"}


def load(path):
    rows = {}
    with open(path) as f:
        for r in json.load(f):
            cls, method = r["benchmark"].split(".")[-2:]
            params = ",".join(f"{k}={v}" for k, v in sorted((r.get("params") or {}).items()))
            metric = r["primaryMetric"]
            alloc = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score")
            rows[(cls, method, params)] = (metric["score"], metric["scoreError"], alloc, r["mode"])
    return rows


def fmt(x, digits=1):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if x != x else f"{x:.{digits}f}"


def mode(r1, r2, key):
    return (r1.get(key) or r2.get(key))[3]


def throughput_table(r1, r2, keys):
    print()
    print("| benchmark | 1 thread ops/s | 2 threads ops/s | B/op | ×best peer ops/s (1t / 2t) |")
    print("|---|---:|---:|---:|---:|")
    for cls, method, params in keys:
        s1, s2 = r1.get((cls, method, params)), r2.get((cls, method, params))
        cells = ["n/a" if s is None else f"{fmt(s[0], 0)} ± {fmt(s[1], 0)}" for s in (s1, s2)]
        alloc = (s1 or s2)[2]
        kind = method.endswith("Async")
        peers = [k for k in keys if k[0] == cls and k[2] == params and not k[1].startswith("shepherd")
                 and k[1].endswith("Async") == kind]
        ratio = ""
        if method.startswith("shepherd") and peers:
            qs = []
            for rows, s in ((r1, s1), (r2, s2)):
                best = max((rows[k][0] for k in peers if k in rows), default=None)
                qs.append(None if best is None or s is None or best == 0 else s[0] / best)
            ratio = f"{fmt(qs[0], 2)} / {fmt(qs[1], 2)}"
        label = f"{cls.replace('Benchmark', '')}.{method}" + (f" ({params})" if params else "")
        print(f"| {label} | {cells[0]} | {cells[1]} | {fmt(alloc, 0)} | {ratio} |")


def main(one, two):
    r1, r2 = load(one), load(two)
    all_keys = sorted(set(r1) | set(r2))
    keys = [k for k in all_keys if mode(r1, r2, k) != "thrpt"]
    thrpt = [k for k in all_keys if mode(r1, r2, k) == "thrpt"]
    print("| benchmark | params | 1 thread ns/op | 2 threads ns/op | B/op | ×floor (1t / 2t) | ×fastest peer (1t / 2t) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for cls, method, params in keys:
        s1 = r1.get((cls, method, params))
        s2 = r2.get((cls, method, params))
        cells = []
        for s in (s1, s2):
            cells.append("n/a" if s is None else f"{fmt(s[0])} ± {fmt(s[1])}")
        alloc = (s1 or s2)[2]

        def ratio(rows, other_key):
            a, b = rows.get((cls, method, params)), rows.get(other_key)
            return None if a is None or b is None or b[0] == 0 else a[0] / b[0]

        floor = FLOORS.get(cls)
        floor_key = None
        if floor:
            floor_params = params if floor[0] == cls else ""
            floor_key = (floor[0], floor[1], floor_params)
        peers = [k for k in keys if k[0] == cls and k[2] == params
                 and not k[1].startswith("shepherd") and k[1] not in FLOOR_METHODS]

        def fastest_peer(rows):
            scored = [rows[k][0] for k in peers if k in rows]
            return min(scored) if scored else None

        floor_ratio = "" if floor_key is None or method in FLOOR_METHODS else \
            f"{fmt(ratio(r1, floor_key), 2)} / {fmt(ratio(r2, floor_key), 2)}"
        peer_ratio = ""
        if method.startswith("shepherd") and peers:
            p1, p2 = fastest_peer(r1), fastest_peer(r2)
            q1 = None if p1 is None or s1 is None else s1[0] / p1
            q2 = None if p2 is None or s2 is None else s2[0] / p2
            peer_ratio = f"{fmt(q1, 2)} / {fmt(q2, 2)}"
        print(f"| {cls.replace('Benchmark', '')}.{method} | {params} | {cells[0]} | {cells[1]} | "
              f"{fmt(alloc)} | {floor_ratio} | {peer_ratio} |")
    if thrpt:
        throughput_table(r1, r2, thrpt)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: jmh_table.py RESULTS_1_THREAD.json RESULTS_2_THREADS.json")
    main(sys.argv[1], sys.argv[2])
