#!/usr/bin/env bash
# 64 KiB reads at depth 32 in real mode — `lguestsim run --block=FILE` on the emulated
# /dev/lguest (`lguestsim lgdev`), its scenario guest reaching the Launcher's memory with
# process_vm_readv/writev — next to `lguestsim bench block` (the same guest reads in-process)
# on the same cached file, and the ratio (real mode over bench block's guest).
#
#   scripts/bench-realmode.sh [TOTAL_MIB] [FILE]
#
# TOTAL_MIB (default 256) is read both ways. FILE (default: a temporary file of TOTAL_MIB)
# must be one `bench block --file` made, or missing (then it is made and kept): every
# 8-byte word holds its own offset, which bench block's guest checks.
#
# Real mode is timed from lgdev's own clock (`lgdev --stats`: how long the guest lived, from
# LHREQ_INITIALIZE to its death), less the same for a run that boots and powers off without
# a single read. Its "stats:" lines say where the time went. The scenario guest does more per
# read than bench block's: it clears each buffer before submitting it, copies all 64 KiB
# back and hashes them for its transcript line (SHA-256), and waits for all 32 reads of a
# batch before it submits the next 32, where bench block's guest refills as each one returns.
#
# Needs root and /dev/fuse (the mount). Everything it mounts is unmounted whatever happens.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
total=${1:-256}
file=${2:-}
depth=32
request_kib=64
memory_mib=64

if ! [[ $total =~ ^[1-9][0-9]*$ ]]; then
    echo "bench-realmode: TOTAL_MIB must be a whole number from 1, not '$total'" >&2
    exit 1
fi

work=$(mktemp -d)
mnt=$work/mnt
mkdir "$mnt"
lgdev_pid=
cleanup() {
    if [[ -n $lgdev_pid ]] && kill -0 "$lgdev_pid" 2>/dev/null; then
        kill -TERM "$lgdev_pid" 2>/dev/null || true
        wait "$lgdev_pid" 2>/dev/null || true
    fi
    if grep -q " $mnt " /proc/self/mounts; then
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dotnet build -c Release "$repo/src/Cli" -v quiet -nologo >/dev/null
dll=$repo/src/Cli/bin/Release/net10.0/lguestsim.dll
kernel=$repo/fixtures/kernels/vmlinux.elf
file=${file:-$work/disk.img}

# bench block first: it makes FILE if missing (and keeps it) and warms the page cache.
echo "== lguestsim bench block --file $file --request-kib $request_kib --depth $depth --total-mib $total"
dotnet "$dll" bench block --file "$file" --size-mib "$total" --request-kib "$request_kib" --depth "$depth" --total-mib "$total" | tee "$work/bench.out"
bench=$(sed -n 's/^guest via block device: mib_per_s=\([0-9.]*\).*/\1/p' "$work/bench.out")
raw=$(sed -n 's/^raw pread.*mib_per_s=\([0-9.]*\).*/\1/p' "$work/bench.out")
cat "$file" >/dev/null

# The scenarios: batches of DEPTH sequential reads (nokick), one kick each, wrapping at the
# end of the file; and the same boot and power-off with no read at all.
size=$(stat -c %s "$file")
sectors=$((size / 512))
per=$((request_kib * 2))
requests=$(((total << 20) / (request_kib << 10)))
{
    echo "block"
    echo "boot"
    sector=0
    for ((i = 0; i < requests; i++)); do
        echo "block.read sector=$sector count=$per nokick"
        if (((i + 1) % depth == 0 || i + 1 == requests)); then
            echo "block.kick"
        fi
        sector=$(((sector + per) % sectors))
        if ((sector + per > sectors)); then sector=0; fi
    done
    echo "poweroff"
} >"$work/reads.scenario"
printf 'block\nboot\npoweroff\n' >"$work/none.scenario"

# The same scenarios for `lguestsim sim`, whose block device is the file itself: the same
# guest in-process, with neither FUSE nor process_vm copies between it and the Launcher.
for name in reads none; do
    sed "1s|^block\$|block file=$file|" "$work/$name.scenario" >"$work/$name.sim.scenario"
done

# One real-mode run: lgdev with SCENARIO, the Launcher on it; lgdev's "alive" (ms) to NAME.alive.
realmode() {
    local scenario=$1 name=$2
    dotnet "$dll" lgdev --mount "$mnt" --scenario "$scenario" --stats >"$work/$name.lgdev" 2>&1 &
    lgdev_pid=$!
    for _ in $(seq 300); do
        [[ -e $mnt/lguest ]] && break
        if ! kill -0 "$lgdev_pid" 2>/dev/null; then
            echo "bench-realmode: lgdev exited:" >&2
            cat "$work/$name.lgdev" >&2
            exit 1
        fi
        sleep 0.1
    done
    local start end
    start=$(date +%s%N)
    dotnet "$dll" run --block="$file" --device="$mnt/lguest" "$memory_mib" "$kernel" </dev/null >"$work/$name.run" 2>&1 || true
    end=$(date +%s%N)
    kill -TERM "$lgdev_pid"
    wait "$lgdev_pid" || true
    lgdev_pid=
    if ! grep -q "CRASH: Power down" "$work/$name.run"; then
        echo "bench-realmode: the $name run did not power off:" >&2
        cat "$work/$name.run" "$work/$name.lgdev" >&2
        exit 1
    fi
    echo "$(((end - start) / 1000000))" >"$work/$name.wall"
    sed -n 's/^stats: guests [0-9]*, alive \([0-9.]*\) ms.*/\1/p' "$work/$name.lgdev" >"$work/$name.alive"
}

echo "== lguestsim run --block on lguestsim lgdev: $requests reads of $request_kib KiB, $depth a kick, $memory_mib MiB guest"
realmode "$work/none.scenario" none
realmode "$work/reads.scenario" reads
none=$(cat "$work/none.alive")
reads=$(cat "$work/reads.alive")
grep '^stats:' "$work/reads.lgdev"
# sim is timed by the wall clock, less a run without reads (start-up, boot, power-off).
simulated() {
    local name=$1 start end
    start=$(date +%s%N)
    if ! dotnet "$dll" sim --scenario "$work/$name.sim.scenario" >"$work/$name.sim" 2>&1; then
        echo "bench-realmode: sim $name failed:" >&2
        tail -5 "$work/$name.sim" >&2
        exit 1
    fi
    end=$(date +%s%N)
    echo "$(((end - start) / 1000000))" >"$work/$name.sim.wall"
}
echo "== lguestsim sim with the same scenario (block file=FILE): the same guest in-process"
simulated none
simulated reads
sim_ms=$(($(cat "$work/reads.sim.wall") - $(cat "$work/none.sim.wall")))

echo "guest alive: ${reads} ms with the reads, ${none} ms without; wall time of the Launcher $(cat "$work/reads.wall") ms and $(cat "$work/none.wall") ms"
awk -v total="$total" -v reads="$reads" -v none="$none" -v bench="$bench" -v raw="$raw" -v sim_ms="$sim_ms" 'BEGIN {
    ms = reads - none
    if (ms <= 0) { print "bench-realmode: no time measured for the reads" > "/dev/stderr"; exit 1 }
    real = total / (ms / 1000)
    printf "real mode (run + lgdev): mib_per_s=%.0f (%d MiB in %.0f ms)\n", real, total, ms
    if (sim_ms > 0) printf "sim, same scenario:      mib_per_s=%.0f (%d MiB in %d ms, wall time less a run without reads)\n", total / (sim_ms / 1000), total, sim_ms
    printf "bench block guest:       mib_per_s=%.0f (raw pread %.0f)\n", bench, raw
    if (sim_ms > 0) printf "real mode over sim (same guest): %.3f\n", real / (total / (sim_ms / 1000))
    printf "ratio=%.3f (real mode over bench block)\n", real / bench
}'
