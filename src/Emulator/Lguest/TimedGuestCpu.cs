using System.Diagnostics;
using LguestSim.Backends.Simulated;

namespace LguestSim.Emulator.Lguest;

/// <summary>
/// The guest's vcpu with the time it spends halted (waiting for an interrupt) and inside its
/// notifies (until the Launcher runs it again) counted in <see cref="LgdevStats"/>: what is
/// left of the guest's life is the guest program's own work.
/// </summary>
internal sealed class TimedGuestCpu(IGuestCpu cpu, LgdevStats stats) : IGuestCpu
{
    /// <inheritdoc/>
    public void Notify(uint address)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            cpu.Notify(address);
        }
        finally
        {
            stats.GuestNotified(start);
        }
    }

    /// <inheritdoc/>
    public void Halt()
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            cpu.Halt();
        }
        finally
        {
            stats.GuestHalted(start);
        }
    }

    /// <inheritdoc/>
    public bool TryTakeInterrupt(out uint irq) => cpu.TryTakeInterrupt(out irq);
}
