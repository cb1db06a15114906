using LguestSim.Engine.Channel;
using LguestSim.Engine.Devices;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Launch;

/// <summary>
/// The Launcher's run loop: run the guest, and act on what stops it — a notify, a break
/// from the Waker, death, or a reboot request.
/// </summary>
/// <remarks>
/// <para>
/// Spec §6; lguest.c <c>run_guest()</c>, <c>handle_output()</c>, <c>handle_input()</c>.
/// Everything here runs on the run loop's thread, except <see cref="Memory"/>, which the block
/// worker reads too. The Waker is the only other thread that talks to the channel, and only to
/// break a run so that input gets serviced here.
/// </para>
/// <para>
/// Guest faults come back from the devices as values (<see cref="GuestFaultException"/> objects
/// returned, not thrown): from a notify handler, an input handler (which also reports its
/// worker's fault and raises its interrupts), a <see cref="VirtioDevice.Settle"/>, or the
/// dispatch itself (<see cref="GuestFault.BadNotify"/>). A hostile guest makes them as often as
/// requests, and a throw costs more than a whole request.
/// </para>
/// <para>
/// In <see cref="GuestErrorMode.Exit"/> (the default) the first fault ends the run: like
/// lguest's <c>errx()</c> it ends the guest with one message and exit status 1. A fault thrown
/// rather than returned (guest memory refusing an access) ends the run the same way, in
/// <see cref="Run"/>, in either mode; no device throws one for anything a guest can do, since
/// the pop proves every buffer lies inside guest memory before a device sees it.
/// </para>
/// <para>
/// In <see cref="GuestErrorMode.Isolate"/> a fault returned by a device isolates that device
/// (<see cref="Isolate"/>); the loop carries on with every other device and the guest. A reset
/// of the device (<see cref="HandleOutput"/>) ends the isolation. Host errors are exceptions
/// and end the run in both modes.
/// </para>
/// </remarks>
public sealed class Launcher : IDeviceContext
{
    private readonly ILguestChannel _channel;
    private readonly DevicePage _page;
    private readonly IReadOnlyList<VirtioDevice> _devices;
    private readonly IWaker _waker;
    private readonly ILauncherObserver _observer;
    private readonly HashSet<VirtioDevice> _listening = new();
    private LauncherExit? _requestedExit;

    /// <summary>Creates the Launcher over a set-up device page and its devices (in page order).</summary>
    public Launcher(ILguestChannel channel, DevicePage page, IReadOnlyList<VirtioDevice> devices, IWaker waker, ILauncherObserver observer)
    {
        _channel = channel;
        _page = page;
        _devices = devices;
        _waker = waker;
        _observer = observer;
        foreach (VirtioDevice d in devices)
        {
            Listen(d);
        }
    }

    /// <inheritdoc/>
    public GuestMemory Memory => _page.Memory;

    /// <summary>
    /// Before servicing input at a break, let every device's own thread finish what the guest
    /// kicked (<see cref="VirtioDevice.Settle"/>). A simulated guest is only broken while it is
    /// halted, so its block requests' outcome (completions, warnings, a fault) then shows up at
    /// the guest's next halt after the kick, or at the end of the run: one transcript, whatever
    /// the threads' timing. A real guest keeps running meanwhile, so real runs leave it off.
    /// </summary>
    public bool SettleDevicesAtBreak { get; init; }

    /// <summary>What a guest fault does: end the run (default, lguest's behaviour) or isolate the device that raised it.</summary>
    public GuestErrorMode GuestErrors { get; init; }

    /// <summary>Runs the guest until it dies, faults, reboots or a device asks to exit.</summary>
    /// <remarks>lguest.c <c>run_guest()</c>. Every way out but a guest fault goes through <see cref="Finish"/>.</remarks>
    public LauncherExit Run()
    {
        LauncherExit exit;
        try
        {
            exit = RunUntilExit();
        }
        catch (GuestFaultException e)
        {
            return FaultExit(e);
        }

        return exit.Kind == LauncherExitKind.GuestFault ? exit : Finish(exit);
    }

    /// <summary>
    /// The end of a run: a fault a device's own thread hit first (<see cref="VirtioDevice.Settle"/>)
    /// still ends the run as that fault, whether the guest died, rebooted, a device asked to exit,
    /// or a host failure ended the run under <see cref="Run"/>.
    /// </summary>
    /// <param name="exit">How the run would end otherwise.</param>
    /// <returns><paramref name="exit"/>, or the pending guest fault.</returns>
    public LauncherExit Finish(LauncherExit exit) => SettleDevices() is { } fault ? FaultExit(fault) : exit;

    private static LauncherExit FaultExit(GuestFaultException e) => new(LauncherExitKind.GuestFault, 1, e.Detail, e.Fault);

    /// <summary>The run loop; a guest fault (exit mode) ends it with a <see cref="LauncherExitKind.GuestFault"/> exit.</summary>
    private LauncherExit RunUntilExit()
    {
        while (true)
        {
            ChannelEvent ev = _channel.Run();
            GuestFaultException? fault = null;
            switch (ev.Kind)
            {
                case ChannelEventKind.Notify:
                    _observer.OnNotify(ev.Address);
                    fault = Dispatch(ev.Address);
                    break;
                case ChannelEventKind.Died:
                    return new LauncherExit(LauncherExitKind.GuestDied, 1, ev.Reason ?? "guest died");
                case ChannelEventKind.Restart:
                    return new LauncherExit(LauncherExitKind.Restart, 0, "guest asked to reboot");
                case ChannelEventKind.Break:
                    fault = (SettleDevicesAtBreak ? SettleDevices() : null) ?? ServiceInput();
                    if (fault is null)
                    {
                        _channel.ReleaseBreak();
                    }

                    break;
            }

            if (fault is not null)
            {
                return FaultExit(fault);
            }

            if (_requestedExit is { } exit)
            {
                return exit;
            }
        }
    }

    /// <summary>
    /// Dispatches a notify in the exact order of spec §6.4: a device's descriptor address
    /// resets it; a queue's ring page runs its handler (or warns, while the device's status
    /// is still 0); anything else is early console output.
    /// </summary>
    /// <exception cref="GuestFaultException">
    /// Exit mode: <see cref="GuestFault.BadNotify"/>, or the fault the device's handler reported.
    /// </exception>
    /// <remarks>lguest.c <c>handle_output()</c>.</remarks>
    public void HandleOutput(uint address)
    {
        if (Dispatch(address) is { } fault)
        {
            throw fault;
        }
    }

    /// <summary><see cref="HandleOutput"/>, with the fault that ends the run (exit mode) as a value.</summary>
    private GuestFaultException? Dispatch(uint address)
    {
        uint pfn = address / (uint)Abi.LguestLayout.PageSize;
        foreach (VirtioDevice device in _devices)
        {
            if (device.Record.DescriptorAddress == address)
            {
                ResetDevice(device);
                return null;
            }

            foreach (Virtqueue vq in device.Record.Queues)
            {
                if (vq.Config.Pfn != pfn)
                {
                    continue;
                }

                // An isolated device is not served until the guest resets it; the first
                // notify it ignores says so, the rest are silent.
                if (device.IsIsolated)
                {
                    if (!device.IgnoredNotifyWarned)
                    {
                        device.IgnoredNotifyWarned = true;
                        _observer.OnWarning($"{device.Name}: device is isolated until the guest resets it; notify ignored");
                    }

                    return null;
                }

                // A driver that kicks before the guest has even acknowledged the device is
                // talking to a ring nobody set up; lguest ignores it with a warning.
                if (device.Record.Status == Abi.VirtioStatus.None)
                {
                    _observer.OnWarning($"{device.Name}: device gave early output (status 0); notify ignored");
                    return null;
                }

                return Outcome(device, device.HandleNotify(vq, this));
            }
        }

        // Nothing matched: the early console (a NUL-terminated string in guest memory).
        if (address >= Memory.Limit)
        {
            // No device owns this fault, so there is nothing to isolate: in isolate mode the
            // notify is dropped with a warning (each time), and the guest carries on.
            string detail = $"bad NOTIFY 0x{address:x} (guest limit 0x{Memory.Limit:x})";
            if (GuestErrors == GuestErrorMode.Isolate)
            {
                _observer.OnWarning($"{detail}; notify ignored");
                return null;
            }

            return new GuestFaultException(GuestFault.BadNotify, detail);
        }

        ReadOnlySpan<byte> rest = Memory.GetSpan(address, Memory.Limit - address);
        int nul = rest.IndexOf((byte)0);
        _observer.OnEarlyOutput(nul < 0 ? rest : rest[..nul]);
        return null;
    }

    /// <summary>
    /// What the run loop does with a fault <paramref name="device"/> reported: nothing to do
    /// for none; in isolate mode, isolate the device; in exit mode, hand the fault on to end
    /// the run.
    /// </summary>
    /// <returns>The fault that ends the run, or null.</returns>
    private GuestFaultException? Outcome(VirtioDevice device, GuestFaultException? fault)
    {
        if (fault is null || GuestErrors != GuestErrorMode.Isolate)
        {
            return fault;
        }

        Isolate(device, fault);
        return null;
    }

    /// <summary>
    /// Services every device whose input is ready, until none is; a device that cannot take
    /// input now stops being listened to.
    /// </summary>
    /// <returns>The fault that ends the run (exit mode), or null.</returns>
    /// <remarks>lguest.c <c>handle_input()</c>.</remarks>
    private GuestFaultException? ServiceInput()
    {
        bool any = true;
        while (any && _requestedExit is null)
        {
            any = false;
            foreach (VirtioDevice device in _devices)
            {
                InputSource? input = device.Input;
                if (input is null || !_listening.Contains(device) || !input.IsReady)
                {
                    continue;
                }

                any = true;
                GuestFaultException? fault = device.HandleInput(this, out bool keepListening);
                if (fault is not null)
                {
                    // Isolate mode: Isolate stopped listening to it already.
                    if (Outcome(device, fault) is { } fatal)
                    {
                        return fatal;
                    }

                    continue;
                }

                if (!keepListening)
                {
                    _listening.Remove(device);
                    _waker.Remove(input);
                }
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public GuestFaultException? TriggerIrq(Virtqueue queue)
    {
        if (!queue.ShouldInterrupt())
        {
            return null;
        }

        VirtioDevice owner = FindOwner(queue);
        _observer.OnInterrupt(owner, queue);
        return _channel.Interrupt(queue.Config.Irq) ? null : new GuestFaultException(GuestFault.InterruptRejected, $"triggering irq {queue.Config.Irq} failed");
    }

    /// <inheritdoc/>
    public void EnableInput(VirtioDevice device)
    {
        // Like enable_fd(): on every kick, even when already listening. Never for an isolated
        // device (its kicks do not get here; this keeps it so for any caller).
        if (!device.IsIsolated)
        {
            Listen(device);
        }
    }

    /// <summary>Listens to <paramref name="device"/>'s input, if it has one (the Launcher and the Waker both).</summary>
    private void Listen(VirtioDevice device)
    {
        if (device.Input is { } input)
        {
            _listening.Add(device);
            _waker.Add(input);
        }
    }

    /// <inheritdoc/>
    public void Warn(string message) => _observer.OnWarning(message);

    /// <inheritdoc/>
    public void RequestExit(int status, string reason) =>
        _requestedExit = new LauncherExit(LauncherExitKind.Requested, status, reason);

    /// <summary>
    /// Lets every device's own thread finish what the guest kicked; returns the first pending
    /// fault, or in isolate mode isolates each device that has one. An isolated device has
    /// nothing to settle: its worker is parked and its fault was taken when it was isolated.
    /// </summary>
    private GuestFaultException? SettleDevices()
    {
        foreach (VirtioDevice d in _devices)
        {
            if (d.IsIsolated)
            {
                continue;
            }

            if (Outcome(d, d.Settle(this)) is { } fatal)
            {
                return fatal;
            }
        }

        return null;
    }

    /// <summary>
    /// A notify of the device's descriptor address (spec §5.4): park what works off the run
    /// loop, clear the record and zero the rings, and, in isolate mode, bring an isolated
    /// device back, clean.
    /// </summary>
    private void ResetDevice(VirtioDevice device)
    {
        // A device whose queue is served off the run loop (the block worker) parks first: the
        // reset below zeroes the ring under it.
        device.PrepareReset();
        if (GuestErrors == GuestErrorMode.Isolate && !device.IsIsolated && device.PendingFault is { } pending)
        {
            // A fault its worker hit that the run loop has not seen yet is reported now, as an
            // isolation, so that the reset below clears it rather than losing it unsaid.
            Isolate(device, pending);
        }

        device.Record.Reset();
        device.OnReset();
        _observer.OnReset(device);
        if (device.IsIsolated)
        {
            // Clean, as at start-up: served again, and listened to again as every device with
            // input is at start-up (a device that has no buffers for it stops listening at once).
            device.IsIsolated = false;
            device.IgnoredNotifyWarned = false;
            Listen(device);
        }
    }

    /// <summary>
    /// Isolate mode: <paramref name="device"/> raised <paramref name="fault"/>. It stops being
    /// served — its notifies are ignored (<see cref="HandleOutput"/>), its input is not listened
    /// to, its worker parks (<see cref="VirtioDevice.OnIsolated"/>) — until the guest resets it.
    /// </summary>
    private void Isolate(VirtioDevice device, GuestFaultException fault)
    {
        device.IsIsolated = true;
        if (device.Input is { } input && _listening.Remove(device))
        {
            _waker.Remove(input);
        }

        _observer.OnIsolated(device, fault);
        device.OnIsolated(this);
    }

    private VirtioDevice FindOwner(Virtqueue queue)
    {
        foreach (VirtioDevice d in _devices)
        {
            foreach (Virtqueue q in d.Record.Queues)
            {
                if (q == queue)
                {
                    return d;
                }
            }
        }

        throw new InvalidOperationException("queue belongs to no device");
    }
}
