using System.Buffers.Binary;

namespace LguestSim.Backends.Kernel;

/// <summary>The request codes written to <c>/dev/lguest</c> (spec §2.2).</summary>
internal enum LguestRequestCode : uint
{
    /// <summary><c>LHREQ_INITIALIZE</c>: create the guest.</summary>
    Initialize = 0,

    /// <summary><c>LHREQ_IRQ</c>: mark an interrupt pending.</summary>
    Irq = 2,

    /// <summary><c>LHREQ_BREAK</c>: break the Launcher out of its read (1), or let the breaker go (0).</summary>
    Break = 3,
}

/// <summary>
/// Encodes the writes of spec §2.2: a request word then its argument words, each 4 bytes
/// little-endian (the only lguest hosts were 32-bit x86, so that is also native order there).
/// </summary>
internal static class LguestRequest
{
    /// <summary>Bytes of an <c>LHREQ_INITIALIZE</c> write: the request word and four arguments.</summary>
    internal const int InitializeSize = 20;

    /// <summary>What a successful <c>LHREQ_INITIALIZE</c> returns: the size of its four argument words.</summary>
    internal const int InitializeAccepted = 16;

    /// <summary>Bytes of an <c>LHREQ_IRQ</c> or <c>LHREQ_BREAK</c> write.</summary>
    internal const int ShortSize = 8;

    /// <summary>Writes <c>{0, base, pfnlimit, pgdir, start}</c> into <paramref name="destination"/> (20 bytes).</summary>
    internal static void EncodeInitialize(Span<byte> destination, uint guestBase, uint pfnLimit, uint pageDirectory, uint entryPoint)
    {
        destination = destination[..InitializeSize];
        BinaryPrimitives.WriteUInt32LittleEndian(destination[0..4], (uint)LguestRequestCode.Initialize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..8], guestBase);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..12], pfnLimit);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..16], pageDirectory);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..20], entryPoint);
    }

    /// <summary>Writes <c>{2, irq}</c> into <paramref name="destination"/> (8 bytes).</summary>
    internal static void EncodeIrq(Span<byte> destination, uint irq) => EncodeShort(destination, LguestRequestCode.Irq, irq);

    /// <summary>Writes <c>{3, on ? 1 : 0}</c> into <paramref name="destination"/> (8 bytes).</summary>
    internal static void EncodeBreak(Span<byte> destination, bool on) => EncodeShort(destination, LguestRequestCode.Break, on ? 1u : 0u);

    private static void EncodeShort(Span<byte> destination, LguestRequestCode code, uint argument)
    {
        destination = destination[..ShortSize];
        BinaryPrimitives.WriteUInt32LittleEndian(destination[0..4], (uint)code);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..8], argument);
    }
}
