namespace LguestSim.Engine.Channel;

/// <summary>
/// "The kernel", as the Launcher sees it: the one way the engine starts the guest, runs it,
/// interrupts it and breaks it out of its run.
/// </summary>
/// <remarks>
/// The engine ships over two: <c>KernelChannel</c> speaks the real <c>/dev/lguest</c> ABI
/// (spec §2), <c>SimulatedChannel</c> plays the 2.6.25 guest in-process. Everything
/// device-side is the same code over either.
/// </remarks>
public interface ILguestChannel : IDisposable
{
    /// <summary>
    /// Creates the guest (<c>LHREQ_INITIALIZE</c>): accessible pages below
    /// <paramref name="pfnLimit"/>, top-level page table at <paramref name="pageDirectory"/>,
    /// entry at <paramref name="entryPoint"/>. Guest memory's host location is the channel's own business.
    /// </summary>
    void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint);

    /// <summary>
    /// Runs the guest until something happens (a read of <c>/dev/lguest</c>). Blocks while the
    /// guest waits for an interrupt, until <see cref="Break"/> is called from another thread.
    /// </summary>
    ChannelEvent Run();

    /// <summary>Marks interrupt <paramref name="irq"/> pending (<c>LHREQ_IRQ</c>).</summary>
    /// <returns>False when the kernel refuses it (irq ≥ 32), which the Launcher treats as fatal.</returns>
    bool Interrupt(uint irq);

    /// <summary>
    /// Breaks the guest out of <see cref="Run"/> (<c>LHREQ_BREAK 1</c>); called by the Waker
    /// thread. Blocks until the Launcher calls <see cref="ReleaseBreak"/>, as the real device does.
    /// </summary>
    void Break();

    /// <summary>Lets a blocked <see cref="Break"/> return (<c>LHREQ_BREAK 0</c>).</summary>
    void ReleaseBreak();
}

/// <summary>What ended one <see cref="ILguestChannel.Run"/>.</summary>
public enum ChannelEventKind
{
    /// <summary>The guest executed <c>LHCALL_NOTIFY</c> with a non-zero address.</summary>
    Notify,

    /// <summary>The Waker broke the run (EAGAIN): device input is ready.</summary>
    Break,

    /// <summary>The guest died (ENOENT); the reason says why.</summary>
    Died,

    /// <summary>The guest asked to reboot (ERESTART).</summary>
    Restart,
}

/// <summary>One event from <see cref="ILguestChannel.Run"/>.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Address">The notify address (for <see cref="ChannelEventKind.Notify"/>).</param>
/// <param name="Reason">The death reason (for <see cref="ChannelEventKind.Died"/>).</param>
public readonly record struct ChannelEvent(ChannelEventKind Kind, uint Address = 0, string? Reason = null)
{
    /// <summary>A notify of <paramref name="address"/>.</summary>
    public static ChannelEvent Notify(uint address) => new(ChannelEventKind.Notify, address);

    /// <summary>A break.</summary>
    public static ChannelEvent Broken { get; } = new(ChannelEventKind.Break);

    /// <summary>A death with <paramref name="reason"/>.</summary>
    public static ChannelEvent Died(string reason) => new(ChannelEventKind.Died, 0, reason);

    /// <summary>A reboot request.</summary>
    public static ChannelEvent Restart { get; } = new(ChannelEventKind.Restart);
}
