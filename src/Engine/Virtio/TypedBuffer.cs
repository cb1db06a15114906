namespace LguestSim.Engine.Virtio;

/// <summary>
/// The check lguest.c's <c>_convert()</c> makes before treating a buffer as a C struct:
/// exactly the struct's size, and aligned to its alignment.
/// </summary>
/// <remarks>Spec §5.2 "Type check on header buffers".</remarks>
public static class TypedBuffer
{
    /// <summary>Verifies that <paramref name="buffer"/> can hold exactly one <paramref name="typeName"/>.</summary>
    /// <returns>Null; or <see cref="GuestFault.BadTypedBuffer"/> for a wrong size or a misalignment.</returns>
    public static GuestFaultException? Validate(GuestBuffer buffer, int size, int alignment, string typeName)
    {
        if (buffer.Length != (uint)size)
        {
            return new GuestFaultException(GuestFault.BadTypedBuffer, $"bad size {buffer.Length} for {typeName} (expected {size})");
        }

        if ((buffer.Address & (ulong)(alignment - 1)) != 0)
        {
            return new GuestFaultException(GuestFault.BadTypedBuffer, $"bad alignment 0x{buffer.Address:x} for {typeName} (needs {alignment})");
        }

        return null;
    }
}
