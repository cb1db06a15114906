using LguestSim.Engine.Abi;

namespace LguestSim.Engine.Loader;

/// <summary>How the kernel file was recognised.</summary>
/// <remarks>Spec §7.1: ELF magic first, anything else is tried as a bzImage.</remarks>
public enum KernelFormat
{
    /// <summary>An ELF32 i386 vmlinux (lguest.c <c>load_elf_image()</c>).</summary>
    Elf = 1,

    /// <summary>A bzImage with the "HdrS" setup header (lguest.c <c>load_bzimage()</c>).</summary>
    BzImage,
}

/// <summary>One named range of guest-physical memory the loader filled or reserved.</summary>
/// <param name="Name">What lives there, e.g. "kernel vmlinux segment 0".</param>
/// <param name="Address">First byte.</param>
/// <param name="Length">Bytes occupied (for an ELF segment, <c>max(p_filesz, p_memsz)</c>).</param>
public readonly record struct GuestRegion(string Name, ulong Address, ulong Length)
{
    /// <summary>One past the last byte.</summary>
    public ulong End => Address + Length;

    /// <summary>True when the two ranges share at least one byte.</summary>
    public bool Overlaps(GuestRegion other) =>
        Length != 0 && other.Length != 0 && Address < other.End && other.Address < End;

    /// <summary>"[0x100000, 0x100014)".</summary>
    public string RangeText => $"[0x{Address:x}, 0x{End:x})";
}

/// <summary>A kernel placed in guest memory.</summary>
/// <param name="Format">ELF or bzImage.</param>
/// <param name="Entry">Where the guest starts: <c>e_entry</c> or <c>code32_start</c>.</param>
/// <param name="Segments">
/// What was placed: each ELF <c>PT_LOAD</c> segment with a non-zero size, in program-header
/// order, or the single bzImage payload at 0x100000.
/// </param>
/// <param name="BytesCopied">File bytes copied into guest memory in total.</param>
public sealed record LoadedKernel(KernelFormat Format, uint Entry, IReadOnlyList<GuestRegion> Segments, ulong BytesCopied);

/// <summary>An initrd placed at the top of guest RAM.</summary>
/// <remarks>Spec §7.4.</remarks>
/// <param name="Address"><c>ramdisk_image</c> = <c>mem - Length</c>.</param>
/// <param name="Length"><c>ramdisk_size</c>: the file size rounded up to a page.</param>
/// <param name="FileSize">The file's own size in bytes.</param>
public readonly record struct LoadedInitrd(uint Address, uint Length, ulong FileSize);

/// <summary>
/// Everything the Launcher needs after loading to create the guest:
/// <c>LHREQ_INITIALIZE</c> takes <see cref="PageDirectory"/> and <see cref="Entry"/>.
/// </summary>
/// <remarks>Spec §7.8 step 7 and 8. The pfn limit is not here: it depends on the devices.</remarks>
/// <param name="MemorySize"><c>mem</c> in bytes.</param>
/// <param name="Kernel">The placed kernel.</param>
/// <param name="Initrd">The placed initrd, or null without <c>--initrd</c>.</param>
/// <param name="PageTables">The identity page tables.</param>
/// <param name="BootParams">The fields written into the zero page.</param>
/// <param name="CommandLine">The kernel command line as written at 0x1000 (without its NUL).</param>
/// <param name="Regions">Every range written or reserved, in placement order.</param>
public sealed record BootSetup(
    ulong MemorySize,
    LoadedKernel Kernel,
    LoadedInitrd? Initrd,
    IdentityPageTables PageTables,
    BootParams BootParams,
    string CommandLine,
    IReadOnlyList<GuestRegion> Regions)
{
    /// <summary>The guest's entry point (<c>start</c> of LHREQ_INITIALIZE).</summary>
    public uint Entry => Kernel.Entry;

    /// <summary>Guest-physical address of the page directory (<c>pgdir</c> of LHREQ_INITIALIZE).</summary>
    public uint PageDirectory => PageTables.PageDirectory;

    /// <summary><c>ramdisk_image</c>, or 0 without an initrd.</summary>
    public uint InitrdAddress => Initrd?.Address ?? 0;

    /// <summary><c>ramdisk_size</c> (page-rounded), or 0 without an initrd.</summary>
    public uint InitrdSize => Initrd?.Length ?? 0;
}
