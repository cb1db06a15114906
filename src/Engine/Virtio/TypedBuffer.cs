namespace LguestSim.Engine.Virtio;

/// <summary>
/// The check lguest.c's <c>_convert()</c> makes before treating a buffer as a C struct:
/// exactly the struct's size, and aligned to its alignment.
/// </summary>
/// <remarks>Spec §5.2 "Type check on header buffers".</remarks>
public static class TypedBuffer
{
    /// <summary>Verifies that <paramref name="buffer"/> can hold exactly one <paramref name="typeName"/>.</summary>
    /// <exception cref="GuestFaultException"><see cref="GuestFault.BadTypedBuffer"/> on a wrong size or misalignment.</exception>
    public static void Check(GuestBuffer buffer, int size, int alignment, string typeName)
    {
        if (buffer.Length != (uint)size)
        {
            ThrowHelper.ThrowGuestFault(GuestFault.BadTypedBuffer, $"bad size {buffer.Length} for {typeName} (expected {size})");
        }

        if ((buffer.Address & (ulong)(alignment - 1)) != 0)
        {
            ThrowHelper.ThrowGuestFault(GuestFault.BadTypedBuffer, $"bad alignment 0x{buffer.Address:x} for {typeName} (needs {alignment})");
        }
    }
}
