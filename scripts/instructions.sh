#!/usr/bin/env bash
# Instructions per request of each pass-path and short-circuit variant of
# benches/interleaved.rs, counted by callgrind: repeatable whatever else the
# machine is doing. Each variant runs twice, over N and 2N requests; the
# difference divided by N is the per-request count, so start-up cancels out.
# Request building is counted too, and is the same within each group, so the
# differences to the group's baseline are what the layer adds.
#
#   scripts/instructions.sh                      # N = 5000, features: checks
#   FEATURES=checks,xml scripts/instructions.sh  # with problem+xml negotiation
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000}
FEATURES=${FEATURES:-checks}
(( N >= 100 && N <= 100000 )) || { echo "N must be 100 to 100000" >&2; exit 2; }

if ! command -v valgrind >/dev/null; then
    echo "installing valgrind from Debian's packages"
    apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi

# Only this package, so that the examples' features are not turned on too.
bench=$(cargo bench -p tower-failed-dependency --no-run --bench interleaved --features "$FEATURES" --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "interleaved" and m.get("executable"):
        print(m["executable"])')

count() { # variant batch
    ONLY="$1" BATCH="$2" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" 2>&1 |
        awk '/Collected/ {gsub(",", "", $4); print $4}'
}

per_request() { # variant
    local one two
    one=$(count "$1" "$N")
    two=$(count "$1" $((2 * N)))
    echo $(( (two - one) / N ))
}

report() { # baseline variants...
    local base base_count
    base=$1
    shift
    base_count=$(per_request "$base")
    printf '%-44s %8s\n' "$base" "$base_count"
    for variant in "$@"; do
        local c
        c=$(per_request "$variant")
        printf '%-44s %8s %+8d\n' "$variant" "$c" $((c - base_count))
    done
}

echo "instructions per request (callgrind, N=$N; requests built in the counted part, the same within a group)"
report "bare" \
    "hand-written layer, pass" \
    "DependencyLayer, 1 required, pass" \
    "DependencyLayer, 8 required, pass" \
    "ValidateRequestHeaderLayer::accept, pass"
echo
report "hand-written layer, 424" "DependencyLayer, 424 short-circuit"
echo
report "bare" \
    "checks: 1 check, pass" \
    "checks: auth then 2 concurrent, pass" \
    "hand-written async checks, same graph, pass"
