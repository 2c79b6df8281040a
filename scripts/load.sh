#!/usr/bin/env bash
# Loopback A/B load test: the same plain hyper server with and without
# DependencyLayer on its pass path (examples/load_server.rs), loaded by wrk in
# alternating rounds. Prints req/s, p50 and p99 of every run and the median of
# the per-round throughput ratios (with / without).
#
#   scripts/load.sh                      # 3 rounds of 10 s, 2 threads, 50 connections
#   ROUNDS=5 DURATION=10 scripts/load.sh
#
# Bounded: at most 20 rounds of at most 60 s each; both servers bind
# 127.0.0.1 only and are stopped on exit. wrk is installed from Debian's
# packages when absent.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
(( ROUNDS >= 1 && ROUNDS <= 20 )) || { echo "ROUNDS must be 1 to 20" >&2; exit 2; }
(( DURATION >= 1 && DURATION <= 60 )) || { echo "DURATION must be 1 to 60 (seconds)" >&2; exit 2; }

if ! command -v wrk >/dev/null; then
    echo "installing wrk from Debian's packages"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --quiet --example load_server
server=target/release/examples/load_server
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Started from this shell (not a subshell), so that `cleanup` knows the pids.
start() { # mode
    "$server" "$1" 127.0.0.1:0 >"$work/$1.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 50); do
        grep -q 'listening on' "$work/$1.log" && return
        sleep 0.1
    done
    echo "the $1 server did not start" >&2
    exit 1
}
port_of() { # mode
    sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/$1.log"
}
start with
start without
port_with=$(port_of with)
port_without=$(port_of without)

run() { # mode port round
    local out="$work/$1.$3.txt"
    timeout $((DURATION + 20)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        "http://127.0.0.1:$2/" >"$out"
    if grep -q 'Non-2xx' "$out"; then
        echo "the $1 server answered errors:" >&2
        cat "$out" >&2
        exit 1
    fi
    local rps p50 p99
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    printf '%-6s %-8s %12s %10s %10s\n' "$3" "$1" "$rps" "$p50" "$p99"
    echo "$3 $1 $rps" >>"$work/results"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS alternating rounds, on $(nproc) cores"
printf '%-6s %-8s %12s %10s %10s\n' round layer req/s p50 p99
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then
        run without "$port_without" "$round"; run with "$port_with" "$round"
    else
        run with "$port_with" "$round"; run without "$port_without" "$round"
    fi
done

python3 - "$work/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    round_, mode, rps = line.split()
    runs.setdefault(round_, {})[mode] = float(rps)
ratios = [r["with"] / r["without"] for r in runs.values()]
print("per-round throughput ratio (with / without): " + ", ".join(f"{x:.3f}" for x in ratios))
print(f"median ratio: {statistics.median(ratios):.3f}")
PY
