using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

/// <summary><c>struct iovec</c>: one buffer of a scatter/gather call.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Iovec
{
    /// <summary><c>iov_base</c>.</summary>
    public byte* Base;

    /// <summary><c>iov_len</c>.</summary>
    public nuint Length;
}
