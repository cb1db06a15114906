using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Emulator.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Emulator.Lguest;

/// <summary>
/// Makes a <see cref="ScenarioGuest"/> behind each open, over the Launcher's own memory (read
/// and written from outside, at <c>base</c> in the owner's process) with the scenario's host
/// side played for real. A reboot ends one open's guest; the next open's guest carries on
/// at the step after the <c>reboot</c>, as <see cref="SimulationRunner"/> does in-process.
/// </summary>
public sealed class ScenarioGuestFactory : IGuestFactory, IDisposable
{
    private readonly object _lock = new();
    private readonly Scenario _scenario;
    private readonly Func<IScenarioHost> _openHost;
    private readonly T _transcript;
    private ScenarioGuest? _last;
    private IScenarioHost? _host;

    /// <summary>
    /// Plays <paramref name="scenario"/>; <paramref name="openHost"/> opens its host side for each
    /// boot (the Launcher's taps and console exist by then); guest lines go to <paramref name="transcript"/>.
    /// </summary>
    public ScenarioGuestFactory(Scenario scenario, Func<IScenarioHost> openHost, T transcript)
    {
        _scenario = scenario;
        _openHost = openHost;
        _transcript = transcript;
    }

    /// <summary>Where the guest's copies are counted (<c>lgdev --stats</c>); null: nothing is counted.</summary>
    public LgdevStats? Stats { get; init; }

    /// <inheritdoc/>
    /// <remarks>
    /// <c>pfnlimit</c> is the Launcher's <c>guest_limit</c> in pages: its RAM and the device
    /// pages above it, all the guest may touch. The RAM size itself the guest learns as a real
    /// kernel does, from the e820 map in the boot_params at guest-physical 0; that read is the
    /// guest's first act, on its own thread, so a Launcher whose memory cannot be reached
    /// kills the guest (ENOENT with the reason), never the server.
    /// </remarks>
    public Action<IGuestCpu> Create(LguestBoot boot)
    {
        ulong limit = (ulong)boot.PfnLimit * LguestLayout.PageSize;
        var memory = new RemoteGuestPhysicalMemory(boot.OwnerThreadId, boot.Base, limit) { Stats = Stats };
        IScenarioHost host;
        lock (_lock)
        {
            (_host as IDisposable)?.Dispose();
            _host = null;
            _host = _openHost();
            host = _host;
        }

        return cpu =>
        {
            var bp = BootParams.Read(memory.ReadBytes(0, BootParams.Size));
            ulong mem = bp.E820Entries >= 1 && bp.E820Map0.Length <= limit ? bp.E820Map0.Length : limit;
            ScenarioGuest guest;
            lock (_lock)
            {
                if (_last is null && mem + LguestLayout.PageSize <= limit)
                {
                    // The device page as the Launcher set it up, before the guest touches it:
                    // in the simulator's format, so that the two transcripts can be compared.
                    _transcript.Line($"device page at {T.Hex(mem)}, guest_limit {T.Hex(limit)}:");
                    _transcript.Block(Backends.Simulated.Transcript.HexDump.Format(memory.ReadBytes(mem, LguestLayout.PageSize), mem));
                }

                guest = new ScenarioGuest(_scenario, _last?.NextStep ?? 0, host, _transcript, memory, mem);
                _last = guest;
            }

            guest.Run(cpu);
        };
    }

    /// <summary>Closes the last boot's host side.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            (_host as IDisposable)?.Dispose();
            _host = null;
        }
    }
}
