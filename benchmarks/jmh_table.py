#!/usr/bin/env python3
"""Turns JMH JSON results (one file at 1 thread, one at 2) into a Markdown table.

Each row is one benchmark (and its parameters): ns/op with JMH's 99.9 % error at 1 and 2 threads,
bytes allocated per op (from -prof gc), the ratio to the floor it is judged against, and the ratio
to the fastest peer measured in the same group. Our own benchmarks are the methods named shepherd*.

A last section checks the targets of issue 8 against the same numbers (met / missed, with the
ratios), so that a run can never be summarised more kindly than it measured.

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
            if cls == "FairnessBenchmark":
                continue  # per-thread shares of one limiter, not a cost: read in its own output
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


def targets(r1, r2):
    """Prints the verdict on each target of issue 8, from the scores alone (errors are in the table)."""
    def score(rows, cls, method, params=""):
        r = rows.get((cls, method, params))
        return None if r is None else r[0]

    def alloc(cls, method, params=""):
        r = r1.get((cls, method, params)) or r2.get((cls, method, params))
        return None if r is None else r[2]

    lines = []

    def th(t):
        return "1 thread" if t == 1 else f"{t} threads"

    def check(label, ok, detail):
        verdict = "n/a" if ok is None else ("met" if ok else "**missed**")
        lines.append(f"- {label}: {verdict} ({detail})")

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else a / b

    g, rj = "path=granting", "path=rejecting"
    rl = "RateLimiterBenchmark"
    peers = ["bucket4j", "resilience4j", "guava", "failsafeSmooth", "failsafeBursty"]
    for t, rows, limit in ((1, r1, 1.15), (2, r2, 1.3)):
        q = ratio(score(rows, rl, "shepherdTokenBucket", g), score(rows, "BaselineBenchmark", "nanoTimePlusCas"))
        check(f"TokenBucket.tryAcquire() <= {limit}x nanoTime+CAS at {th(t)}", None if q is None else q <= limit,
              f"{fmt(q, 2)}x")
        ours = score(rows, rl, "shepherdTokenBucket", g)
        scored = {p: score(rows, rl, p, g) for p in peers if score(rows, rl, p, g) is not None}
        if ours is not None and scored:
            best = min(scored, key=scored.get)
            check(f"TokenBucket faster than every peer at {th(t)}", ours < scored[best],
                  f"{fmt(ours)} ns vs fastest peer {best} {fmt(scored[best])} ns")
        for m in ("shepherdTokenBucket", "shepherdLeakyBucketMeter"):
            a, b = rows.get((rl, m, rj)), rows.get((rl, m, g))
            label = f"{m} rejecting no slower than granting at {th(t)}"
            if a is None or b is None:
                check(label, None, "not measured")
            elif a[0] <= b[0]:
                check(label, True, f"{fmt(a[0])} ± {fmt(a[1])} vs {fmt(b[0])} ± {fmt(b[1])} ns")
            elif a[0] - b[0] <= (a[1] ** 2 + b[1] ** 2) ** 0.5:
                # Slower by less than the combined error: a tie, not a demonstrated "no slower".
                lines.append(f"- {label}: tie within error ({fmt(a[0])} ± {fmt(a[1])} vs {fmt(b[0])} ± {fmt(b[1])} ns)")
            else:
                check(label, False, f"{fmt(a[0])} ± {fmt(a[1])} vs {fmt(b[0])} ± {fmt(b[1])} ns")
    bh = "BulkheadBenchmark"
    for t, rows in ((1, r1), (2, r2)):
        sem = score(rows, bh, "semaphore")
        for m in ("shepherdCall", "shepherdTryAcquireClose"):
            ours = score(rows, bh, m)
            q = ratio(ours, sem)
            others = [score(rows, bh, p) for p in ("resilience4j", "failsafe")]
            faster = None if ours is None or None in others else all(ours < o for o in others)
            check(f"Bulkhead {m} <= 1.2x Semaphore at {th(t)}", None if q is None else q <= 1.2, f"{fmt(q, 2)}x")
            check(f"Bulkhead {m} faster than Resilience4j and Failsafe at {th(t)}", faster,
                  f"{fmt(ours)} vs {fmt(others[0])} / {fmt(others[1])} ns")
    bo = "BackoffBenchmark"
    for m in ("shepherdFullJitter", "shepherdDecorrelatedJitter", "shepherdDecorrelatedJitterV2", "shepherdGrpc"):
        qs = [ratio(score(rows, bo, m), score(rows, bo, "handWrittenFullJitter")) for rows in (r1, r2)]
        a = alloc(bo, m)
        ok = None if None in qs else all(q <= 2 for q in qs) and a is not None and a < 0.5
        check(f"Backoff {m} <= 2x the hand-written floor, 0 B/op", ok, f"{fmt(qs[0], 2)}x / {fmt(qs[1], 2)}x, {fmt(a)} B/op")
    au = "AuthBenchmark"
    for t, rows in ((1, r1), (2, r2)):
        q = ratio(score(rows, au, "shepherdCachingAuthenticatorHit"), score(rows, au, "caffeineGetIfPresentPlusHmac"))
        check(f"CachingAuthenticator hit <= 1.2x Caffeine getIfPresent + HMAC at {th(t)}",
              None if q is None else q <= 1.2, f"{fmt(q, 2)}x")
    grant_paths = [(rl, m, g) for m in ("shepherdTokenBucket", "shepherdTokenBucketRetryAfter", "shepherdLeakyBucketMeter")]
    grant_paths += [(bh, "shepherdCall", ""), (bh, "shepherdTryAcquireClose", "")]
    for cls, m, params in grant_paths:
        a = alloc(cls, m, params)
        check(f"0 B/op on the grant path {cls.replace('Benchmark', '')}.{m}", None if a is None else a < 0.5,
              f"{fmt(a)} B/op")
    print()
    print("Targets (issue 8), judged on the scores above:")
    print()
    print("\n".join(lines))


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
    targets(r1, r2)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: jmh_table.py RESULTS_1_THREAD.json RESULTS_2_THREADS.json")
    main(sys.argv[1], sys.argv[2])
