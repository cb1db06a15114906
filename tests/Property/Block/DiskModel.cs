using LguestSim.Engine.Abi;

namespace LguestSim.Tests.Property.Block;

/// <summary>What the spec (§5.3) says one request must give back.</summary>
public sealed record Expected(byte Status, uint UsedLength, byte[] ReadBack);

/// <summary>
/// The in-memory model disk: a byte array the size of the file, and the spec's rules for
/// each request applied to it, in ring order.
/// </summary>
public sealed class DiskModel(byte[] initial)
{
    public byte[] Bytes { get; } = (byte[])initial.Clone();

    /// <summary>Applies <paramref name="op"/> (which must not write past the end) and returns what the guest must see.</summary>
    public Expected Apply(BlockOp op)
    {
        if (op.IsScsi)
        {
            // Not supported: status only; any writable data buffers stay as the guest left them (zero).
            return new Expected(VirtioBlkOutHdr.StatusUnsupp, 1, (op.Type & VirtioBlkOutHdr.TypeOut) != 0 ? [] : new byte[op.Length]);
        }

        long offset = (long)op.Sector * 512;
        if (op.IsWrite)
        {
            op.Data().CopyTo(Bytes, offset);
            return new Expected(VirtioBlkOutHdr.StatusOk, 1, []);
        }

        // A read whose end lies past the largest file offset fails as a whole (preadv's EINVAL,
        // as readv's was in lguest.c): IOERR, status byte only, buffers untouched.
        if ((ulong)offset + (ulong)op.Length > long.MaxValue)
        {
            return new Expected(VirtioBlkOutHdr.StatusIoErr, 1, new byte[op.Length]);
        }

        // A read returns what the file has from the offset, up to the buffers' size; past the
        // end nothing, and the rest of the buffers keep their (zero) contents.
        byte[] back = new byte[op.Length];
        long available = Math.Max(0, Bytes.Length - offset);
        int n = (int)Math.Min(op.Length, available);
        Bytes.AsSpan((int)Math.Min(offset, Bytes.Length), n).CopyTo(back);
        return new Expected(VirtioBlkOutHdr.StatusOk, 1 + (uint)n, back);
    }

    /// <summary>The store calls the request must make, in order (barrier flush first).</summary>
    public static IEnumerable<string> Calls(BlockOp op)
    {
        if (op.IsBarrier)
        {
            yield return "flush";
        }

        if (!op.IsScsi)
        {
            yield return $"{(op.IsWrite ? "write" : "read")}@{(long)op.Sector * 512}";
        }
    }
}
