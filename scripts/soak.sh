#!/usr/bin/env bash
# A bounded soak on loopback: starts the soak server (examples/soak.rs: every
# layer of the crate, tower-http's around them, the in-memory idempotency
# store), runs a mixed load against it for SOAK_SECONDS (default 60), checks
# every answer, and checks that the server's resident memory in the last
# 10 s is within 1 % of the 10 s after the warm-up.
#
#   scripts/soak.sh
#   SOAK_SECONDS=600 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${SOAK_SECONDS:-60}
(( SECONDS_TOTAL >= 20 && SECONDS_TOTAL <= 3600 )) || { echo "SOAK_SECONDS must be 20 to 3600" >&2; exit 2; }

cargo build --release --locked -p tower-failed-dependency-examples --example soak
soak=target/release/examples/soak

out=$(mktemp)
"$soak" serve 127.0.0.1:0 >"$out" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do
    [[ -s "$out" ]] && break
    sleep 0.1
done
addr=$(head -1 "$out")
[[ -n "$addr" ]] || { echo "the soak server did not start" >&2; exit 1; }
echo "soak server $server on $addr, ${SECONDS_TOTAL} s"
"$soak" drive "$addr" "$server" "$SECONDS_TOTAL"
