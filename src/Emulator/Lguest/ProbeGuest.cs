using LguestSim.Backends.Simulated;

namespace LguestSim.Emulator.Lguest;

/// <summary>
/// A small guest for exercising the device ABI without guest memory: it does what the
/// Launcher's interrupts tell it to, so a test drives every way a run can end.
/// </summary>
/// <remarks>
/// On boot it notifies <c>start</c> (when non-zero), then halts. Each interrupt it takes
/// orders one thing (<see cref="Orders"/>): notify an address, power off, panic, reboot.
/// Interrupts it does not know are ignored, as a kernel ignores a spurious one.
/// </remarks>
public static class ProbeGuest
{
    /// <summary>The interrupt numbers the probe guest obeys.</summary>
    public static class Orders
    {
        /// <summary>Notify <c>pgdir</c> + 1 (so a test can tell it from the boot notify).</summary>
        public const uint Notify = 1;

        /// <summary>Power off: the run ends ENOENT, reason "CRASH: Power down".</summary>
        public const uint PowerOff = 2;

        /// <summary>Panic: the run ends ENOENT, reason "CRASH: probe guest panic".</summary>
        public const uint Panic = 3;

        /// <summary>Reboot: the run ends ERESTART.</summary>
        public const uint Reboot = 4;
    }

    /// <summary>The panic message (the death reason is "CRASH: " and this).</summary>
    public const string PanicMessage = "probe guest panic";

    /// <summary>The guest program for <paramref name="boot"/>.</summary>
    public static Action<IGuestCpu> Program(LguestBoot boot) => cpu =>
    {
        if (boot.EntryPoint != 0)
        {
            cpu.Notify(boot.EntryPoint);
        }

        while (true)
        {
            cpu.Halt();
            while (cpu.TryTakeInterrupt(out uint irq))
            {
                switch (irq)
                {
                    case Orders.Notify:
                        cpu.Notify(boot.PageDirectory + 1);
                        break;
                    case Orders.PowerOff:
                        return;
                    case Orders.Panic:
                        throw new GuestShutdownException(PanicMessage, reboot: false);
                    case Orders.Reboot:
                        throw new GuestShutdownException("reboot", reboot: true);
                }
            }
        }
    };
}

/// <summary>Makes a <see cref="ProbeGuest"/> for every open.</summary>
public sealed class ProbeGuestFactory : IGuestFactory
{
    /// <inheritdoc/>
    public Action<IGuestCpu> Create(LguestBoot boot) => ProbeGuest.Program(boot);
}
