using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    private const int MapShared = 0x01;          // MAP_SHARED (linux/mman.h)
    private const int MapAnonymous = 0x20;       // MAP_ANONYMOUS
    private const int Map32Bit = 0x40;           // MAP_32BIT (x86-64 only: the low 2 GiB)
    private const int MapNoReserve = 0x4000;     // MAP_NORESERVE
    private const int MapFixedNoReplace = 0x100000; // MAP_FIXED_NOREPLACE (Linux 4.17+; EEXIST if taken)

    /// <summary>
    /// <c>mmap(hint, length, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE [| MAP_32BIT | MAP_FIXED_NOREPLACE], -1, 0)</c>
    /// into <paramref name="region"/>: 0, or a negative errno (read at once).
    /// </summary>
    internal static unsafe int MapSharedAnonymous(ulong length, ulong hint, bool low32, bool fixedNoReplace, out MappedRegionHandle region)
    {
        region = new MappedRegionHandle();
        int flags = MapShared | MapAnonymous | MapNoReserve | (low32 ? Map32Bit : 0) | (fixedNoReplace ? MapFixedNoReplace : 0);
        void* p = LibC.mmap((void*)hint, (size_t)length, LibC.PROT_READ | LibC.PROT_WRITE, flags, -1, 0);
        if (p == (void*)-1)
        {
            int errno = LibC.errno;
            region.Dispose();
            return -errno;
        }

        region.Adopt((ulong)p, length);
        return 0;
    }
}
