#!/usr/bin/env bash
# Mutation testing of the engine: Stryker.NET (dotnet-stryker from .config/dotnet-tools.json)
# mutates src/Engine and runs tests/Property and tests/Golden against each mutant.
#
#   scripts/mutation.sh [FOLDER...]
#
# FOLDER is a folder of src/Engine (Virtio, Devices, Memory, Devices/Block, ...), or `.` for
# the files directly in src/Engine (GuestFault.cs, ...). None: every folder and `.`.
# Only the files under the given folders are mutated; all the tests run.
#
# Prints one line per folder, then where the reports are:
#   FOLDER: score% (killed/total, survived N, timeout N, no coverage N)
# score = (killed + timeout) / total, as Stryker counts it; total leaves out mutants that do
# not compile and mutants Stryker ignores. Reports: artifacts/mutation/DATE/reports/
# (mutation-report.html, mutation-report.json) and survivors.txt beside them (one line per
# surviving or uncovered mutant: file:line, mutator, replacement).
#
# Environment:
#   MUTATION_CONCURRENCY  test runners at once (default: the number of cores less one, at
#                         least 1; each runner is a testhost with its own threads)
#   MUTATION_BUDGET_MIN   wall-clock budget in minutes (default 150); past it the whole run
#                         is stopped and the script exits 124
#   MUTATION_TIMEOUT_MS   Stryker's additional-timeout per test run (default 15000): what a
#                         mutant may take beyond the unmutated run before it counts as hung
#   MUTATION_FILTER       the tests run against mutants, in `dotnet test --filter` syntax; `all`
#                         for every test. Default: all but three kinds that cost minutes per
#                         mutant (a mutant only they would kill then counts as surviving):
#                         DeterminismTests (every golden scenario 20 times; each golden also
#                         runs once on its own), HostileScenarioTests (generated scenarios
#                         whose only claim is a clean end; the fault and fuzz tests make it
#                         in-process) and the Cli tests (they start `lguestsim` as a child
#                         process and test src/Cli, which is not mutated)
#
# A mutant that hangs is a timeout: Stryker ends that test run. Stryker and everything it
# starts (builds, vstest, testhosts, the processes tests start) run in a process group of
# their own, and every way out of this script kills that group, so nothing is left running.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
engine=$repo/src/Engine

cores=$(nproc 2>/dev/null || echo 1)
concurrency=${MUTATION_CONCURRENCY:-$(( cores > 1 ? cores - 1 : 1 ))}
budget_min=${MUTATION_BUDGET_MIN:-150}
timeout_ms=${MUTATION_TIMEOUT_MS:-15000}
filter=${MUTATION_FILTER:-FullyQualifiedName!~.DeterminismTests.&FullyQualifiedName!~.HostileScenarioTests.&FullyQualifiedName!~.Golden.Cli.}

for setting in "MUTATION_CONCURRENCY=$concurrency" "MUTATION_BUDGET_MIN=$budget_min" "MUTATION_TIMEOUT_MS=$timeout_ms"; do
    if ! [[ ${setting#*=} =~ ^[1-9][0-9]{0,6}$ ]]; then
        echo "mutation: ${setting%%=*} must be a whole number from 1, not '${setting#*=}'" >&2
        exit 1
    fi
done

# The folders: each an existing folder of src/Engine, or `.`, named once.
folders=()
if [ "$#" -eq 0 ]; then
    folders+=(.)
    for dir in "$engine"/*/; do
        name=$(basename "$dir")
        case $name in bin | obj) continue ;; esac
        folders+=("$name")
    done
else
    for arg in "$@"; do
        folder=${arg%/}
        folder=${folder#./}
        [ -z "$folder" ] && folder=.
        if [ "$folder" != . ]; then
            if [[ $folder == /* || $folder == *..* || ! -d $engine/$folder ]]; then
                echo "mutation: no folder '$arg' in src/Engine (give folders such as Virtio Devices Memory, or . for the top-level files)" >&2
                exit 1
            fi
            case $folder in bin | obj | bin/* | obj/*)
                echo "mutation: '$arg' is build output, not source" >&2
                exit 1 ;;
            esac
        fi
        for seen in "${folders[@]+"${folders[@]}"}"; do
            if [ "$seen" = "$folder" ]; then
                echo "mutation: folder '$arg' given twice" >&2
                exit 1
            fi
        done
        folders+=("$folder")
    done
fi

for tool in dotnet jq setsid; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "mutation: '$tool' is not installed (needed to run and read Stryker)" >&2
        exit 1
    fi
done

# Stryker's mutate globs are relative to the mutated project's folder.
mutate_args=()
for folder in "${folders[@]}"; do
    if [ "$folder" = . ]; then
        mutate_args+=(--mutate "*.cs")
    else
        mutate_args+=(--mutate "$folder/**/*.cs")
    fi
done

out=$repo/artifacts/mutation/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
log=$out/stryker.log

# Settings Stryker takes only from a config file.
filter_setting=
if [ "$filter" != all ]; then
    filter_setting="\"test-case-filter\": $(jq -Rn --arg f "$filter" '$f'),"
fi
cat >"$out/stryker-config.json" <<EOF
{
  "stryker-config": {
    $filter_setting
    "coverage-analysis": "perTest",
    "additional-timeout": $timeout_ms,
    "disable-bail": false,
    "thresholds": { "high": 90, "low": 80, "break": 0 }
  }
}
EOF

# No build servers that outlive the run (MSBuild nodes, the compiler server).
export MSBUILDDISABLENODEREUSE=1
export DOTNET_CLI_USE_MSBUILD_SERVER=0
export UseSharedCompilation=false
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

cd "$repo"
echo "mutation: restoring dotnet-stryker (.config/dotnet-tools.json)"
if ! dotnet tool restore >"$out/tool-restore.log" 2>&1; then
    echo "mutation: dotnet tool restore failed; see $out/tool-restore.log" >&2
    exit 1
fi

# Stryker puts the mutated engine into the test projects' bin folders and keeps the real one
# beside it as *.stryker-unchanged; a run stopped half-way leaves them swapped, and the next
# `dotnet test` would test a mutant. Put the real assembly back.
restore_engine() {
    local kept
    while IFS= read -r -d '' kept; do
        mv -f "$kept" "${kept%.stryker-unchanged}"
    done < <(find "$repo/tests" -path '*/bin/*' -name '*.stryker-unchanged' -print0 2>/dev/null)
}

group=
stop_group() {
    if [ -n "$group" ] && kill -0 -- "-$group" 2>/dev/null; then
        kill -TERM -- "-$group" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 -- "-$group" 2>/dev/null || break
            sleep 1
        done
        kill -KILL -- "-$group" 2>/dev/null || true
    fi
    group=
    restore_engine
}
trap 'stop_group' EXIT
trap 'stop_group; echo "mutation: interrupted" >&2; exit 130' INT TERM HUP
restore_engine

started=$(date +%s)
echo "mutation: folders ${folders[*]}; $concurrency test runner(s) on $cores core(s); budget $budget_min min (until $(date -d "@$((started + budget_min * 60))" +%H:%M)); additional timeout ${timeout_ms} ms"
echo "mutation: tests: $([ "$filter" = all ] && echo "all of Property and Golden" || echo "Property and Golden where $filter")"
echo "mutation: Stryker log: $log"

# setsid: Stryker leads a new process group (its pid is the group id) that holds everything it
# starts, so that stop_group can end all of it at once.
(
    cd "$engine"
    exec setsid dotnet tool run dotnet-stryker -- \
        --config-file "$out/stryker-config.json" \
        --project LguestSim.Engine.csproj \
        --test-project "$repo/tests/Property/LguestSim.Tests.Property.csproj" \
        --test-project "$repo/tests/Golden/LguestSim.Tests.Golden.csproj" \
        --concurrency "$concurrency" \
        --reporter html --reporter json --reporter dots \
        --output "$out" \
        --skip-version-check \
        "${mutate_args[@]}"
) >"$log" 2>&1 &
group=$!
sleep 1
if [ "$(ps -o pgid= -p "$group" 2>/dev/null | tr -d ' ')" != "$group" ] && kill -0 "$group" 2>/dev/null; then
    echo "mutation: Stryker did not get a process group of its own; stopping" >&2
    kill -TERM "$group" 2>/dev/null || true
    exit 1
fi

deadline=$((started + budget_min * 60))
status=
last_progress=0
while kill -0 "$group" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "mutation: over the budget of $budget_min min: stopping the run" >&2
        stop_group
        status=124
        break
    fi
    # Progress, about once a minute: the dots reporter writes one character per tested mutant
    # ('.' killed, 'S' survived, 'T' timeout) on the log's last line.
    now=$(date +%s)
    if [ $(( (now - started) % 60 )) -lt 5 ] && [ $((now - last_progress)) -ge 30 ]; then
        planned=$(sed -n 's/.* \([0-9][0-9]*\) *total mutants will be tested.*/\1/p' "$log" | tail -n 1)
        if [ -n "$planned" ]; then
            last=$(tail -n 1 "$log")
            dots=
            [[ $last == \[* ]] || dots=$(printf '%s' "$last" | tr -cd '.ST')
            survived=$(printf '%s' "$dots" | tr -cd 'S' | wc -c)
            echo "mutation: $(( (now - started) / 60 )) min: ${#dots}/$planned mutants tested, $survived survived so far"
        fi
        last_progress=$now
    fi
    sleep 5
done
if [ -z "$status" ]; then
    wait "$group" && status=0 || status=$?
fi
# Stryker has ended: whatever of its group is still alive (a testhost a hung mutant left) goes too.
leftover=$(pgrep -g "$group" 2>/dev/null | wc -l || true)
if [ "${leftover:-0}" -gt 0 ]; then
    echo "mutation: stopping $leftover process(es) left in Stryker's process group"
fi
stop_group

elapsed=$(( $(date +%s) - started ))
echo "mutation: Stryker took $((elapsed / 60)) min $((elapsed % 60)) s of the $budget_min min budget"

report_json=$out/reports/mutation-report.json
if [ "$status" -ne 0 ] || [ ! -f "$report_json" ]; then
    echo "mutation: Stryker failed (exit $status); the last lines of $log:" >&2
    tr '\r' '\n' <"$log" | grep -v '^\s*$' | tail -n 15 >&2
    exit "$([ "$status" -ne 0 ] && echo "$status" || echo 1)"
fi

# One line per folder from the JSON report (its file keys are relative to src/Engine or absolute).
for folder in "${folders[@]}"; do
    jq -r --arg folder "$folder" --arg engine "$engine/" '
        def rel: if startswith($engine) then .[($engine | length):] else . end;
        [ .files | to_entries[]
          | select((.key | rel) as $p
                   | if $folder == "." then ($p | contains("/") | not)
                     else ($p | startswith($folder + "/")) end)
          | .value.mutants[].status ] as $s
        | ($s | map(select(. == "Killed")) | length) as $killed
        | ($s | map(select(. == "Survived")) | length) as $survived
        | ($s | map(select(. == "Timeout")) | length) as $timeout
        | ($s | map(select(. == "NoCoverage")) | length) as $nocov
        | ($killed + $survived + $timeout + $nocov) as $total
        | "\($folder): \(if $total == 0 then "n/a" else ((($killed + $timeout) * 10000 / $total | floor) / 100 | tostring) + "%" end) (\($killed)/\($total), survived \($survived), timeout \($timeout), no coverage \($nocov))"
    ' "$report_json"
done

jq -r --arg engine "$engine/" '
    def rel: if startswith($engine) then .[($engine | length):] else . end;
    .files | to_entries[] | (.key | rel) as $file
    | .value.mutants[] | select(.status == "Survived" or .status == "NoCoverage")
    | "\($file):\(.location.start.line):\(.location.start.column) \(.status) \(.mutatorName): \(.replacement // "" | gsub("\n"; " "))"
' "$report_json" | sort -t: -k1,1 -k2,2n >"$out/survivors.txt"

echo "mutation: HTML report: $out/reports/mutation-report.html"
echo "mutation: survivors ($(wc -l <"$out/survivors.txt")): $out/survivors.txt"
