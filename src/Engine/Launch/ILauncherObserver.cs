using LguestSim.Engine.Devices;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Launch;

/// <summary>
/// What the Launcher reports as it runs: the text lguest.c prints (warnings, early console
/// output, the death reason) and, for transcripts, each notify, reset and interrupt.
/// </summary>
public interface ILauncherObserver
{
    /// <summary>The guest notified <paramref name="address"/>.</summary>
    void OnNotify(uint address);

    /// <summary>The guest reset <paramref name="device"/>.</summary>
    void OnReset(VirtioDevice device);

    /// <summary>An interrupt was raised for <paramref name="queue"/> of <paramref name="device"/>.</summary>
    void OnInterrupt(VirtioDevice device, Virtqueue queue);

    /// <summary>Early console output (a notify that matched no device).</summary>
    void OnEarlyOutput(ReadOnlySpan<byte> text);

    /// <summary>
    /// <c>--guest-errors=isolate</c>: <paramref name="device"/> broke a rule (<paramref name="fault"/>)
    /// and is no longer served until the guest resets it; the Launcher carries on.
    /// </summary>
    void OnIsolated(VirtioDevice device, GuestFaultException fault);

    /// <summary>A warning; the Launcher carries on. The block worker thread reports its own (SCSI unsupported).</summary>
    void OnWarning(string message);
}
