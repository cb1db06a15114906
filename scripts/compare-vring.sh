#!/usr/bin/env bash
# Runs vring_baseline.c and `lguestsim bench vring` alternately, PAIRS times each, and
# prints every pair, the two medians and their ratio (C# over C). Alternating matters:
# on a shared machine the speed of both drifts by tens of per cent within minutes.
#
#   scripts/compare-vring.sh [PATH/TO/vring_baseline.c] [PAIRS]
#
# Defaults: ../shared/bench/vring_baseline.c next to the repository, 11 pairs.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
source=${1:-$repo/../shared/bench/vring_baseline.c}
pairs=${2:-11}
chains=20000000

if [[ ! -f $source ]]; then
    echo "compare-vring: no C baseline at $source (give its path as the first argument)" >&2
    exit 1
fi

if ! [[ $pairs =~ ^[1-9][0-9]*$ ]]; then
    echo "compare-vring: PAIRS must be a whole number from 1, not '$pairs'" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/vring_baseline" "$source"
dotnet build -c Release "$repo/src/Cli" -v quiet -nologo >/dev/null
dll=$repo/src/Cli/bin/Release/net10.0/lguestsim.dll

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

c_runs=()
cs_runs=()
for ((i = 1; i <= pairs; i++)); do
    c=$("$work/vring_baseline" "$chains" | sed -n 's/.*ns_per_chain=\([0-9.]*\).*/\1/p')
    cs=$(dotnet "$dll" bench vring --chains "$chains" --runs 1 | sed -n 's/^ns_per_chain=//p')
    echo "pair $i: C ${c} ns/chain, C# ${cs} ns/chain"
    c_runs+=("$c")
    cs_runs+=("$cs")
done

c_median=$(median "${c_runs[@]}")
cs_median=$(median "${cs_runs[@]}")
echo "median C=${c_median} C#=${cs_median}"
awk -v a="$cs_median" -v b="$c_median" 'BEGIN { printf "ratio=%.2f\n", a / b }'
