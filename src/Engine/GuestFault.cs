using System.Diagnostics.CodeAnalysis;

namespace LguestSim.Engine;

/// <summary>
/// Every guest-caused fatal condition the Launcher detects. The original Launcher ends the
/// guest with <c>errx()</c> for each of these; we make a <see cref="GuestFaultException"/>
/// carrying one of these codes and the run loop decides what to do with it. The devices and
/// the pop return it rather than throw it (a hostile guest makes faults as often as requests);
/// guest memory, asked for a range outside itself, throws it.
/// </summary>
/// <remarks>
/// Spec §9, "Virtqueue / descriptor validation", plus the device and notify groups.
/// Tests assert on these codes, never on message text.
/// </remarks>
public enum GuestFault
{
    /// <summary>A descriptor's buffer (address, length) is not inside <c>[0, guest_limit)</c> (spec §4.5 step 5).</summary>
    BufferOutOfBounds = 1,

    /// <summary>A descriptor's <c>next</c> index is at or above the queue size (spec §4.5 step 5).</summary>
    NextIndexOutOfRange,

    /// <summary>
    /// <c>avail.idx</c> moved more than <c>num</c> past the Launcher's <c>last_avail_idx</c>
    /// (spec §4.5 step 1; the original's message wrongly calls it the "used" index).
    /// </summary>
    AvailIndexJump,

    /// <summary>The head index read from the avail ring is at or above the queue size (spec §4.5 step 4).</summary>
    HeadIndexOutOfRange,

    /// <summary>A readable ("out") descriptor follows a writable ("in") one in a chain (spec §4.5 step 5).</summary>
    ReadableAfterWritable,

    /// <summary>The chain has more than <c>num</c> descriptors, so it loops (spec §4.5 step 5).</summary>
    ChainTooLong,

    /// <summary>A typed buffer (net header, block header, block status) has the wrong size or alignment (spec §5.2).</summary>
    BadTypedBuffer,

    /// <summary>The kernel refused <c>LHREQ_IRQ</c> for a queue's interrupt, e.g. irq ≥ 32 (spec §4.7, §3.7).</summary>
    InterruptRejected,

    /// <summary>The console input queue offered a readable buffer (spec §5.1).</summary>
    ConsoleInputReadable,

    /// <summary>The console output queue offered a writable buffer (spec §5.1).</summary>
    ConsoleOutputWritable,

    /// <summary>The net transmit queue offered a writable buffer (spec §5.2).</summary>
    NetTxWritable,

    /// <summary>The net receive queue offered a readable buffer (spec §5.2).</summary>
    NetRxReadable,

    /// <summary>A block request lacks a readable header or a writable status descriptor (spec §5.3 step 1).</summary>
    BlockBadRequestShape,

    /// <summary>A block write would extend the backing file (spec §5.3 step 5).</summary>
    BlockWritePastEnd,

    /// <summary>A block request's sector gives a negative or overflowing byte offset (spec §5.3).</summary>
    BlockBadSector,

    /// <summary>A notify matched no device and lies at or above <c>guest_limit</c> (spec §6.4).</summary>
    BadNotify,
}

/// <summary>
/// A guest protocol violation: the guest broke the rules of spec §4–§6. Mostly returned as a
/// value, not thrown (see <see cref="GuestFault"/>).
/// </summary>
public sealed class GuestFaultException : Exception
{
    /// <summary>Creates the exception for <paramref name="fault"/> with a human-readable detail.</summary>
    public GuestFaultException(GuestFault fault, string detail)
    {
        Fault = fault;
        Detail = detail;
    }

    /// <summary>The fault code.</summary>
    public GuestFault Fault { get; }

    /// <summary>What exactly was wrong: indices, addresses, lengths.</summary>
    public string Detail { get; }

    /// <summary>"CODE: detail", made only when asked for (most faults are reported by code and detail).</summary>
    public override string Message => $"{Fault}: {Detail}";
}

/// <summary>
/// A fatal Launcher error that is neither the guest's fault nor an OS failure: a device
/// page that overflows, not enough pages for the devices, a bad option value.
/// </summary>
public sealed class LauncherException : Exception
{
    /// <summary>Creates the exception with the one-line message the CLI prints.</summary>
    public LauncherException(string message) : base(message)
    {
    }
}

/// <summary>Throw helpers kept out of line so the hot paths stay small.</summary>
public static class ThrowHelper
{
    /// <summary>Raises a <see cref="LauncherException"/>.</summary>
    /// <exception cref="LauncherException">Always.</exception>
    [DoesNotReturn]
    public static void ThrowLauncher(string message) => throw new LauncherException(message);
}
