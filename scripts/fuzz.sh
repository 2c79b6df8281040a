#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for a bounded time each, with
# cargo-fuzz and libFuzzer, and prints executions and crashes per target.
#
#   scripts/fuzz.sh                          # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh batch_body
#   FUZZ_RUNS=10000000 FUZZ_SECONDS=1800 scripts/fuzz.sh
#                                            # each target until 10^7
#                                            # executions or 30 min
#
# The corpus grows in fuzz/corpus/<target> (kept between runs, not committed),
# starting from the committed seeds in fuzz/seeds/<target>. A crash is saved
# in fuzz/artifacts/<target>; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
# and turn it into a regression test under tests/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
(( SECONDS_EACH >= 1 && SECONDS_EACH <= 86400 )) || { echo "FUZZ_SECONDS must be 1 to 86400" >&2; exit 2; }
RUNS=${FUZZ_RUNS:-0}
[[ $RUNS =~ ^[0-9]+$ ]] || { echo "FUZZ_RUNS must be a number of executions" >&2; exit 2; }
limits=(-max_total_time="$SECONDS_EACH")
(( RUNS > 0 )) && limits+=(-runs="$RUNS")

if ! command -v cargo-fuzz >/dev/null; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes unstable flags (-Zsanitizer=address and others) to
# rustc; a stable toolchain accepts them with this.
export RUSTC_BOOTSTRAP=1

if (( $# > 0 )); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
cargo fuzz build --release

failed=0
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/seeds/$target"
    echo "== $target: ${SECONDS_EACH} s${FUZZ_RUNS:+ or $RUNS executions}"
    started=$SECONDS
    set +e
    cargo fuzz run --release "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        "${limits[@]}" -timeout=10 -rss_limit_mb=2048 \
        -dict=fuzz/dictionaries/json.dict -print_final_stats=1 \
        >"$logs/$target" 2>&1
    status=$?
    set -e
    if (( status != 0 )); then
        failed=1
        tail -40 "$logs/$target"
    fi
    executions=$(awk '/stat::number_of_executed_units/ {print $2}' "$logs/$target" | tail -1)
    crashes=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
    corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
    printf '%-18s exit %-3s executions %-10s seconds %-5s corpus %-6s crash files %s\n' \
        "$target" "$status" "${executions:-?}" "$((SECONDS - started))" "$corpus" "$crashes" | tee -a "$logs/summary"
done

echo
echo "summary (at most ${SECONDS_EACH} s per target${FUZZ_RUNS:+, at most $RUNS executions}):"
cat "$logs/summary"
exit "$failed"
