using LguestSim.Backends.Simulated;

namespace LguestSim.Emulator.Lguest;

/// <summary>
/// The words of <c>LHREQ_INITIALIZE</c>, and who sent it.
/// </summary>
/// <param name="OwnerThreadId">The thread that initialised the guest: the only one that may run it or raise its interrupts.</param>
/// <param name="Base">Host address of guest-physical 0 in the owner's process (<c>base</c>; a 4-byte word, spec §2.2).</param>
/// <param name="PfnLimit">Guest pages accessible (<c>pfnlimit</c>).</param>
/// <param name="PageDirectory">Guest-physical address of the top page table (<c>pgdir</c>).</param>
/// <param name="EntryPoint">Guest-physical entry point (<c>start</c>).</param>
public readonly record struct LguestBoot(int OwnerThreadId, uint Base, uint PfnLimit, uint PageDirectory, uint EntryPoint);

/// <summary>
/// Makes the guest program behind one open of the emulated <c>/dev/lguest</c>, at its
/// <c>LHREQ_INITIALIZE</c>. It runs on its own thread on a <see cref="SimulatedChannel"/>.
/// </summary>
/// <remarks>
/// This is the seam between the device model and what runs behind it: the built-in probe
/// guest (<see cref="ProbeGuestFactory"/>) or, once guest memory can be reached in the
/// Launcher's process, a scenario guest over that memory. State that outlives one open (the
/// scenario step to carry on from after a reboot) belongs to the factory.
/// </remarks>
public interface IGuestFactory
{
    /// <summary>Creates the guest program for a guest initialised with <paramref name="boot"/>.</summary>
    /// <exception cref="IOException">The guest cannot be set up (e.g. its memory cannot be reached); the INITIALIZE fails with EFAULT.</exception>
    Action<IGuestCpu> Create(LguestBoot boot);
}
