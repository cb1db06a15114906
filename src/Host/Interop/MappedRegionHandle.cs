using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>A region made by <c>mmap</c>: its start address and length. Releasing it unmaps it.</summary>
internal sealed class MappedRegionHandle : SafeHandle
{
    internal MappedRegionHandle()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    /// <summary>Address 0 is never a mapping here; -1 is <c>MAP_FAILED</c>, the unset value.</summary>
    public override bool IsInvalid => handle == new IntPtr(-1) || handle == IntPtr.Zero;

    /// <summary>The region's length in bytes.</summary>
    internal ulong Length { get; private set; }

    /// <summary>The region's first byte.</summary>
    internal ulong Address => (ulong)(long)handle;

    /// <summary>Adopts the region at <paramref name="address"/> of <paramref name="length"/> bytes.</summary>
    internal void Adopt(ulong address, ulong length)
    {
        Length = length;
        SetHandle(new IntPtr((long)address));
    }

    protected override unsafe bool ReleaseHandle() =>
        // SAFETY: handle and Length are exactly what mmap returned and was asked for; nothing
        // uses the region once the handle is released (MappedGuestMemory checks IsClosed).
        LibC.munmap((void*)handle, (size_t)Length) == 0;
}
