#!/usr/bin/env bash
# Coverage-guided fuzzing of the engine with AFL++ (issue 12 item 5), from a fresh clone:
#
#   scripts/fuzz-afl.sh SECONDS [OUTDIR]
#
# 1. installs afl++ from Debian's archive when afl-fuzz is missing (apt-get, as root);
# 2. restores the repository's .NET tools (.config/dotnet-tools.json: sharpfuzz 2.3.0);
# 3. publishes lguestsim (Release) into OUTDIR/bin, anew each run;
# 4. seeds OUTDIR/seeds with `lguestsim fuzz --afl --emit-corpus`: one passing input per
#    device and class;
# 5. instruments LguestSim.Engine.dll (the Launcher, the devices, the rings: what is fuzzed)
#    and LguestSim.Fuzz.dll (the decoder and the oracles, so AFL++ also sees which class and
#    which oracle path an input reached) with sharpfuzz, in place;
# 6. runs afl-fuzz for SECONDS on `lguestsim fuzz --afl --mode MODE` (input on stdin, no UI),
#    findings in OUTDIR/findings (a previous run's are moved to OUTDIR/findings.prev);
# 7. prints one summary line from fuzzer_stats: execs/s, paths (corpus count), crashes, hangs.
#
# MODE is exit (default) or isolate: LGUESTSIM_AFL_MODE=isolate scripts/fuzz-afl.sh 60.
# OUTDIR defaults to artifacts/afl in the repository (ignored by git). A crash replays with
#   OUTDIR/bin/lguestsim fuzz --afl --mode MODE < OUTDIR/findings/default/crashes/id:...
# (or with any build of lguestsim: the verdict is the same, instrumented or not).
# Whatever happens, nothing this script started is left running when it returns.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-}
out=${2:-$repo/artifacts/afl}
mode=${LGUESTSIM_AFL_MODE:-exit}

fail() {
    echo "fuzz-afl: $*" >&2
    exit 1
}

[[ $seconds =~ ^[1-9][0-9]*$ ]] || fail "usage: scripts/fuzz-afl.sh SECONDS [OUTDIR] (SECONDS a whole number > 0, not '${seconds}')"
[[ $mode == exit || $mode == isolate ]] || fail "LGUESTSIM_AFL_MODE must be exit or isolate, not '$mode'"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# 1. AFL++ from Debian's archive.
if ! command -v afl-fuzz >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || fail "afl-fuzz is missing and installing it needs root (apt-get install afl++)"
    command -v apt-get >/dev/null 2>&1 || fail "afl-fuzz is missing and there is no apt-get to install afl++ with"
    echo "fuzz-afl: installing afl++ from Debian's archive" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends afl++ >"$out/apt.log" 2>&1 \
        || fail "apt-get install afl++ failed (see $out/apt.log)"
fi

cd "$repo"

# 2, 3. sharpfuzz, and a fresh Release build (sharpfuzz refuses an assembly it already
# instrumented). No build server may outlive the script.
echo "fuzz-afl: restoring tools and publishing lguestsim (Release) to $out/bin" >&2
dotnet tool restore >"$out/build.log" 2>&1 || fail "dotnet tool restore failed (see $out/build.log)"
rm -rf "$out/bin"
dotnet publish src/Cli/LguestSim.Cli.csproj -c Release -o "$out/bin" --disable-build-servers -nologo >>"$out/build.log" 2>&1 \
    || fail "dotnet publish failed (see $out/build.log)"

# 4. Seeds, before instrumenting: outside the fork server an instrumented assembly has
# no trace map to write to.
rm -rf "$out/seeds"
"$out/bin/lguestsim" fuzz --afl --mode "$mode" --emit-corpus "$out/seeds" >&2 || fail "could not write seed inputs"

# 5. Instrument.
for assembly in LguestSim.Engine LguestSim.Fuzz; do
    dotnet tool run sharpfuzz "$out/bin/$assembly.dll" >>"$out/build.log" 2>&1 \
        || fail "sharpfuzz could not instrument $assembly.dll (see $out/build.log)"
done
echo "fuzz-afl: instrumented LguestSim.Engine.dll and LguestSim.Fuzz.dll" >&2

# 6. afl-fuzz. The target is the .NET program itself, not a binary compiled with afl's
# compilers (AFL_SKIP_BIN_CHECK); SharpFuzz's fork server starts in the one process and runs
# every input there, so a start-up takes the runtime's JIT (AFL_FORKSRV_INIT_TMOUT) and a
# timeout ends the campaign (-t generous: an execution takes microseconds). No CPU binding
# (AFL_NO_AFFINITY: other work shares the cores), no check of the governor or of where core
# dumps go (nothing here is a native crash), no UI (AFL_NO_UI: status lines to the log).
if [ -d "$out/findings" ]; then
    rm -rf "$out/findings.prev"
    mv "$out/findings" "$out/findings.prev"
fi

export AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=60000
export DOTNET_CLI_TELEMETRY_OPTOUT=1

# afl-fuzz starts the target in a session of its own, so the script remembers both pids
# (afl-fuzz's, and its child's: the fork server) and ends each that is still running.
afl_pid=
fsrv_pid=
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
cleanup() {
    if alive "$afl_pid"; then
        kill -TERM "$afl_pid" 2>/dev/null || true
        for _ in 1 2 3 4 5; do alive "$afl_pid" || break; sleep 1; done
        kill -KILL "$afl_pid" 2>/dev/null || true
    fi
    # The fork server, if afl-fuzz did not take it down (checked to still be ours: pids are reused).
    if alive "$fsrv_pid" && tr '\0' ' ' <"/proc/$fsrv_pid/cmdline" 2>/dev/null | grep -q "$out/bin/lguestsim"; then
        kill -KILL "$fsrv_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "fuzz-afl: afl-fuzz for $seconds s, mode $mode, load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (log: $out/afl.log)" >&2
afl-fuzz -V "$seconds" -i "$out/seeds" -o "$out/findings" -t 10000 -m none \
    -- "$out/bin/lguestsim" fuzz --afl --mode "$mode" >"$out/afl.log" 2>&1 &
afl_pid=$!
for _ in $(seq 1 240); do
    fsrv_pid=$( (ps -o pid= --ppid "$afl_pid" 2>/dev/null || true) | head -n 1 | tr -d ' ')
    [ -n "$fsrv_pid" ] || ! alive "$afl_pid" || { sleep 0.25; continue; }
    break
done
status=0
wait "$afl_pid" || status=$?
cleanup
stats="$out/findings/default/fuzzer_stats"

# 7. Summary.
[ -f "$stats" ] || fail "afl-fuzz stopped (status $status) before writing fuzzer_stats; last lines of $out/afl.log:
$(tail -n 15 "$out/afl.log")"
field() { sed -n "s/^$1 *: *//p" "$stats"; }
run_time=$(field run_time)
execs=$(field execs_done)
if [ "$status" -ne 0 ]; then
    echo "fuzz-afl: afl-fuzz ended with status $status after ${run_time} s; last lines of $out/afl.log:" >&2
    tail -n 15 "$out/afl.log" >&2
fi
echo "fuzz-afl: mode $mode, ${run_time} s, execs ${execs}, execs/s $(field execs_per_sec), paths $(field corpus_count), crashes $(field saved_crashes), hangs $(field saved_hangs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
