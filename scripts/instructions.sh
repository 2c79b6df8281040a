#!/usr/bin/env bash
# Instructions and allocations per request of every variant of
# benches/interleaved.rs, against what the same request costs bare (and a
# batch against the same requests sent one by one). Instructions are counted
# by callgrind: repeatable whatever else the machine is doing. Each variant
# runs twice, over N and 2N requests; the difference divided by N is the
# per-request count, so start-up cancels out. Allocations are counted
# exactly by the benchmark's own counting allocator (ALLOCS=1).
#
# Every run builds its request with the same function, passes it through
# its earlier layer (a marker, a flag or a fresh record left in the
# extensions) and answers it, all counted; the differences to the baseline
# are what the variant adds.
#
# The goals are in benches/targets.tsv: the script prints each row against
# its goal and exits 1 when one is missed.
#
#   scripts/instructions.sh                      # N = 5000, features: checks,batch
#   FEATURES=checks,batch,xml scripts/instructions.sh   # also: 98 Accept fields against one, at most 2x
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000}
FEATURES=${FEATURES:-checks,batch}
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
[[ -n $bench ]] || { echo "the benchmark did not build" >&2; exit 1; }

count() { # variant runs
    ONLY="$1" BATCH="$2" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" 2>&1 |
        awk '/Collected/ {gsub(",", "", $4); print $4}'
}

instructions() { # variant
    local one two
    one=$(count "$1" "$N")
    two=$(count "$1" $((2 * N)))
    echo $(( (two - one) / N ))
}

allocations() { # variant
    ALLOCS=1 ONLY="$1" "$bench"
}

# name, baseline and requests per run of every variant of this build.
mapfile -t variants < <(LIST=1 "$bench")
declare -A ins allocs over_ins over_allocs

echo "per request (callgrind, N=$N, features $FEATURES): request built, earlier layer and answer all counted"
echo
printf '%-32s %12s %10s %12s %10s\n' variant instructions "over bare" allocations "over bare"
for line in "${variants[@]}"; do
    IFS=$'\t' read -r name baseline parts <<<"$line"
    ins[$name]=$(instructions "$name")
    allocs[$name]=$(allocations "$name")
    if [[ $name == "$baseline" && $parts != 1 ]]; then
        echo "-- per run of $parts requests; \"over\" is over \"$baseline\":"
    fi
    over_ins[$name]=$(( ${ins[$name]} - ${ins[$baseline]} ))
    over_allocs[$name]=$(awk -v a="${allocs[$name]}" -v b="${allocs[$baseline]}" 'BEGIN { print a - b }')
    awk -v name="$name" -v i="${ins[$name]}" -v bi="${ins[$baseline]}" \
        -v a="${allocs[$name]}" -v ba="${allocs[$baseline]}" -v base="$([[ $name == "$baseline" ]] && echo 1)" \
        'BEGIN {
            if (base) printf "%-32s %12d %10s %12g %10s\n", name, i, "-", a, "-"
            else printf "%-32s %12d %+10d %12g %+10g\n", name, i, i - bi, a, a - ba
        }'
done
# A batch's cost per part, over sending the part alone.
for line in "${variants[@]}"; do
    IFS=$'\t' read -r name baseline parts <<<"$line"
    [[ $name != "$baseline" && $parts != 1 ]] || continue
    over_ins["$name, per part"]=$(( (${ins[$name]} - ${ins[$baseline]}) / parts ))
    over_allocs["$name, per part"]=$(awk -v a="${allocs[$name]}" -v b="${allocs[$baseline]}" -v p="$parts" 'BEGIN { print (a - b) / p }')
    printf '%-32s %12s %+10d %12s %+10g\n' "$name, per part" "" "${over_ins["$name, per part"]}" "" "${over_allocs["$name, per part"]}"
done

# Every goal of benches/targets.tsv whose variant this build measured.
echo
echo "goals (benches/targets.tsv), over the baseline:"
missed=0
while IFS=$'\t' read -r name limit alloc_limit; do
    [[ -z $name || $name == \#* ]] && continue
    [[ -n ${over_ins[$name]:-} ]] || { printf '%-32s not measured by this build\n' "$name"; continue; }
    if [[ $limit =~ ^([0-9.]+)x\ (.+)$ ]]; then
        reference=${BASH_REMATCH[2]}
        [[ -n ${over_ins[$reference]:-} ]] || { echo "targets.tsv: unknown reference '$reference'" >&2; exit 2; }
        goal=$(awk -v f="${BASH_REMATCH[1]}" -v r="${over_ins[$reference]}" 'BEGIN { printf "%d", f * r }')
        spelled="<= $limit (+$goal)"
    else
        goal=$limit
        spelled="<= +$goal"
    fi
    verdict=$(awk -v i="${over_ins[$name]}" -v g="$goal" -v a="${over_allocs[$name]}" -v ga="$alloc_limit" \
        'BEGIN { print (i <= g && a <= ga) ? "met" : "MISSED" }')
    [[ $verdict == met ]] || missed=$((missed + 1))
    printf '%-32s %+10d %-34s %+8g <= %-4s %s\n' "$name" "${over_ins[$name]}" "$spelled" "${over_allocs[$name]}" "$alloc_limit" "$verdict"
done < benches/targets.tsv
status=0
(( missed == 0 )) || { echo "$missed goal(s) missed"; status=1; }
# What 98 Accept fields cost a pass against the same bytes in one field
# (xml builds only): both over their own bare baseline, at most 2x.
many="crate pass, 98 Accept fields"
one="crate pass, 1 long Accept field"
if [[ -n ${ins[$many]:-} && -n ${ins[$one]:-} ]]; then
    over() { # variant
        local line baseline
        for line in "${variants[@]}"; do
            IFS=$'\t' read -r name baseline _ <<<"$line"
            [[ $name == "$1" ]] && echo $(( ${ins[$name]} - ${ins[$baseline]} ))
        done
    }
    awk -v many="$(over "$many")" -v one="$(over "$one")" 'BEGIN {
        ratio = many / one
        printf "\n98 Accept fields against the same bytes in one: %+d / %+d instructions = %.2fx (at most 2x)\n", many, one, ratio
        exit ratio > 2
    }' || status=1
fi
exit $status
