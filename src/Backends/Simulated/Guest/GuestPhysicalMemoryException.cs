namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The simulated guest touched guest-physical memory outside <c>[0, Limit)</c>, or a copy to
/// or from it failed: a bug of the guest program, which ends the guest.
/// </summary>
/// <remarks>
/// Nothing catches it on the way up: the simulated vcpu's thread reports it as
/// <c>CRASH: simulated guest failed: ...</c>, as it does any other fault of the guest itself.
/// </remarks>
public sealed class GuestPhysicalMemoryException : Exception
{
    /// <summary>Creates the exception for the range <c>[address, address + length)</c>.</summary>
    /// <param name="address">Guest-physical start of the access.</param>
    /// <param name="length">Bytes of the access.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The failure underneath, if any (a failed remote copy).</param>
    public GuestPhysicalMemoryException(ulong address, ulong length, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Address = address;
        Length = length;
    }

    /// <summary>Guest-physical start of the access.</summary>
    public ulong Address { get; }

    /// <summary>Bytes of the access.</summary>
    public ulong Length { get; }
}
