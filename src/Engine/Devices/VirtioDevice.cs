using LguestSim.Engine.HostIo;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Devices;

/// <summary>
/// A device the Launcher serves: its record on the device page, what to do when the
/// guest kicks one of its queues, and, for devices with input, what to do when the host
/// side has data.
/// </summary>
/// <remarks>The C# shape of lguest.c's <c>struct device</c> with its handlers.</remarks>
public abstract class VirtioDevice
{
    private volatile bool _isolated;

    /// <summary>Wraps a record already laid out on the device page.</summary>
    protected VirtioDevice(DeviceRecord record) => Record = record;

    /// <summary>The device's record and queues.</summary>
    public DeviceRecord Record { get; }

    /// <summary>The device's name ("console", "net", "block").</summary>
    public string Name => Record.Name;

    /// <summary>The input the device listens on, or null for none.</summary>
    public virtual InputSource? Input => null;

    /// <summary>
    /// True from a guest fault of this device, in <c>--guest-errors=isolate</c> mode, until the
    /// guest resets the device (notify of its descriptor address): meanwhile the Launcher
    /// ignores its notifies and does not listen to its input. Set and cleared by the run loop
    /// only; other threads may read it (volatile).
    /// </summary>
    public bool IsIsolated
    {
        get => _isolated;
        internal set => _isolated = value;
    }

    /// <summary>
    /// The Launcher ignores this device's notifies from now on and has already warned once about
    /// one; cleared with the isolation. Run loop only.
    /// </summary>
    internal bool IgnoredNotifyWarned { get; set; }

    /// <summary>The guest kicked <paramref name="queue"/> (lguest.c's per-queue handle_output).</summary>
    /// <returns>
    /// Null; or the rule the guest broke, at which the device stopped (lguest.c's <c>errx()</c>):
    /// nothing after it was served. A guest fault is a result, not an exception, here and in the
    /// other handlers: a hostile guest makes faults as often as requests (the fuzzer, thousands
    /// a second), and the run loop decides what a fault does (<see cref="Launch.GuestErrorMode"/>).
    /// </returns>
    public abstract GuestFaultException? HandleNotify(Virtqueue queue, IDeviceContext context);

    /// <summary>The input source is ready (lguest.c's handle_input of the device).</summary>
    /// <param name="context">The Launcher.</param>
    /// <param name="keepListening">False to stop listening until the guest kicks the input queue again.</param>
    /// <returns>Null, or the rule the guest broke (as for <see cref="HandleNotify"/>).</returns>
    /// <remarks>Called only while <see cref="Input"/> is ready; every device here has an input.</remarks>
    public abstract GuestFaultException? HandleInput(IDeviceContext context, out bool keepListening);

    /// <summary>
    /// Called on the run loop just before a reset clears the record and zeroes the rings. A
    /// device that serves a queue on a thread of its own (block) stops touching its rings
    /// here and returns only once it has.
    /// </summary>
    public virtual void PrepareReset()
    {
    }

    /// <summary>
    /// The guest fault the device's own thread hit that the run loop has not yet been told of
    /// (<see cref="Settle"/> would report it), or null. Run loop only.
    /// </summary>
    public virtual GuestFaultException? PendingFault => null;

    /// <summary>
    /// Drops the <see cref="PendingFault"/> after the run it ended, with whatever the device's
    /// own thread still held for the old rings (warnings, interrupts owed), so that the guest's
    /// next reset of the device serves it again. For a harness that reuses a machine after a
    /// run ended on a fault (the fuzzer); a Launcher ends there. Run loop only; the device's
    /// thread is parked until that reset.
    /// </summary>
    public virtual void DropPendingFault()
    {
    }

    /// <summary>
    /// Run loop, <c>--guest-errors=isolate</c>: the device broke a rule and is isolated from now
    /// until its next reset. A device with a thread of its own (block) parks it here, returns
    /// only once it no longer touches the rings, and drops the fault and whatever it still had
    /// to report for the old rings, so that nothing of it is reported again later.
    /// </summary>
    public virtual void OnIsolated(IDeviceContext context)
    {
    }

    /// <summary>Called after the device was reset; the record and rings are already cleared.</summary>
    public virtual void OnReset()
    {
    }

    /// <summary>
    /// Run loop: lets work the device handed to a thread of its own (the block worker) finish
    /// everything the guest has kicked so far, reports what that work has to say, and returns
    /// the guest fault it hit, if it hit one. The Launcher calls it on every way out of a run but
    /// a guest fault of its own, so such a fault is never lost to a power-off or a reboot that
    /// came first (in isolate mode: every device but an isolated one, whose fault was taken when
    /// it was isolated).
    /// </summary>
    /// <returns>The fault that ended the device's own thread, or null.</returns>
    public virtual GuestFaultException? Settle(IDeviceContext context) => null;
}

/// <summary>What a device may ask of the Launcher while it handles a notify or input.</summary>
/// <remarks>
/// Everything here is for the run loop's thread, except <see cref="Memory"/>, which the block
/// device's worker thread uses too (lguest.c's I/O thread shared guest memory). lguest.c's
/// thread also wrote its messages to stderr itself; the worker hands them to the run loop.
/// </remarks>
public interface IDeviceContext
{
    /// <summary>Guest memory.</summary>
    Memory.GuestMemory Memory { get; }

    /// <summary>Interrupts the guest for <paramref name="queue"/> unless it asked not to be (lguest.c <c>trigger_irq()</c>).</summary>
    /// <returns>Null, or <see cref="GuestFault.InterruptRejected"/> when the kernel refuses the irq (the handler stops there).</returns>
    GuestFaultException? TriggerIrq(Virtqueue queue);

    /// <summary>Starts listening on the device's input again (lguest.c <c>enable_fd()</c>).</summary>
    void EnableInput(VirtioDevice device);

    /// <summary>Prints a warning and carries on.</summary>
    void Warn(string message);

    /// <summary>Ends the Launcher with <paramref name="status"/> once the current handler returns.</summary>
    void RequestExit(int status, string reason);
}
