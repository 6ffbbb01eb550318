#!/usr/bin/env bash
# Builds the JMH benchmarks and runs the whole suite at 1 and 2 threads with the GC profiler,
# then turns JMH's JSON into a Markdown table (ns/op, error, B/op, ratios to floor and fastest peer).
#
#   benchmarks/run.sh            full run (3 x 1 s warm-up, 5 x 1 s measurement, 2 forks): ~25 minutes
#                                (two forks: at 2 threads on 2 vCPUs, one fork can differ from the next
#                                by more than its own error bars, so one fork alone is not enough)
#   benchmarks/run.sh quick      smoke check (1 x 0.2 s warm-up, 2 x 0.2 s measurement): ~3 minutes
#   benchmarks/run.sh full 'RateLimiter'   any further arguments are passed to JMH (a filter, -p ...)
#
# Every benchmark reports ns/op (AverageTime) except RedisRateLimiterBenchmark: checks per second
# (Throughput) against a private redis-server it starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-full}
shift || true
case "$mode" in
  full) jmh_opts=(-wi 3 -w 1s -i 5 -r 1s -f 2) ;;
  quick) jmh_opts=(-wi 1 -w 200ms -i 2 -r 200ms -f 1) ;;
  *) echo "usage: $0 [full|quick] [JMH arguments...]" >&2; exit 2 ;;
esac

mvn -B -q -pl benchmarks -am -DskipTests -Dmaven.javadoc.skip=true package

# The Redis benchmark starts its own redis-server; without one installed it is left out, loudly.
extra=()
if [[ -z "${REDIS_SERVER:-}" ]] && ! command -v redis-server >/dev/null \
    && [[ ! -x /usr/bin/redis-server && ! -x /usr/sbin/redis-server ]]; then
  echo "*** redis-server is not installed: leaving out RedisRateLimiterBenchmark ***" >&2
  extra=(-e RedisRateLimiterBenchmark)
fi

out=benchmarks/results
mkdir -p "$out"
for threads in 1 2; do
  java -jar benchmarks/target/benchmarks.jar "${jmh_opts[@]}" -t "$threads" -prof gc \
    -rf json -rff "$out/jmh-${threads}t.json" "${extra[@]}" "$@"
done
python3 benchmarks/jmh_table.py "$out/jmh-1t.json" "$out/jmh-2t.json" | tee "$out/results.md"
echo "Markdown table written to $out/results.md"
