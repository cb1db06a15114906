using System.Buffers.Binary;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Loader;

/// <summary>
/// The guest's first page tables: a 32-bit, non-PAE identity map of <c>[0, mem)</c> with one
/// page directory and <c>ceil(mem / 4 MiB)</c> PTE pages directly below it.
/// </summary>
/// <remarks>
/// <para>
/// lguest.c <c>setup_pagetables()</c>, spec §7.5. The Host starts the guest with paging on,
/// so something must map the kernel before it has built its own tables. The Launcher maps
/// every RAM page to itself (virtual = physical) with flags 0x7 and nothing else; the guest
/// copies the first PDEs up to 0xC0000000 itself.
/// </para>
/// <para>
/// The tables sit at the top of RAM under the initrd: <c>pgdir = mem - initrd_len - 4096</c>,
/// PTE pages at <c>pgdir - linear_pages * 4096</c>. The original never checked that this
/// fits; <see cref="Plan"/> does, so a small guest with a big initrd gets an error instead of
/// tables written below address 0 (wrapped) or over the initrd.
/// </para>
/// </remarks>
/// <param name="PteAddress">Guest-physical address of the first PTE page (<c>linear</c>).</param>
/// <param name="PtePages"><c>linear_pages</c>: PTE pages, 1024 entries each.</param>
/// <param name="PageDirectory">Guest-physical address of the page directory (<c>pgdir</c>).</param>
/// <param name="MappedPages"><c>mapped_pages = mem / 4096</c>: PTEs that are filled in.</param>
public readonly record struct IdentityPageTables(uint PteAddress, uint PtePages, uint PageDirectory, uint MappedPages)
{
    /// <summary>Present | Writable | User (the original calls them "present, RW, execute").</summary>
    public const uint EntryFlags = 0x7;

    /// <summary>4-byte entries per 4096-byte table page.</summary>
    public const int EntriesPerPage = LguestLayout.PageSize / 4;

    /// <summary>First byte of the tables (the first PTE page).</summary>
    public ulong Address => PteAddress;

    /// <summary>Bytes the tables take: the PTE pages plus the page directory.</summary>
    public ulong Length => ((ulong)PtePages + 1) * LguestLayout.PageSize;

    /// <summary>The PTE for page <paramref name="page"/>: <c>page * 4096 | 0x7</c>.</summary>
    public static uint PteFor(uint page) => (page * LguestLayout.PageSize) | EntryFlags;

    /// <summary>The PDE for PTE page <paramref name="index"/>: <c>(linear + index * 4096) | 0x7</c>.</summary>
    public uint PdeFor(uint index) => (PteAddress + (index * LguestLayout.PageSize)) | EntryFlags;

    /// <summary>
    /// Works out where the tables go for a guest of <paramref name="memorySize"/> bytes whose
    /// initrd takes the top <paramref name="initrdLength"/> bytes (0 without an initrd).
    /// </summary>
    /// <exception cref="ArgumentException">Either size is not a page multiple, or memory is 0 or 4 GiB or more.</exception>
    /// <exception cref="LauncherException">The tables do not fit in RAM below the initrd.</exception>
    public static IdentityPageTables Plan(ulong memorySize, ulong initrdLength)
    {
        if (memorySize == 0 || memorySize % LguestLayout.PageSize != 0 || memorySize > uint.MaxValue)
        {
            throw new ArgumentException("guest memory must be a non-zero page multiple below 4 GiB", nameof(memorySize));
        }

        if (initrdLength % LguestLayout.PageSize != 0)
        {
            throw new ArgumentException("the initrd length must be page-rounded", nameof(initrdLength));
        }

        ulong mappedPages = memorySize / LguestLayout.PageSize;
        ulong ptePages = (mappedPages + EntriesPerPage - 1) / EntriesPerPage;
        ulong tableBytes = (ptePages + 1) * LguestLayout.PageSize;

        // Both subtractions below are guarded: initrd first, then the tables under it.
        if (initrdLength > memorySize || tableBytes > memorySize - initrdLength)
        {
            ThrowHelper.ThrowLauncher(
                $"page tables: {ptePages + 1} pages (0x{tableBytes:x} bytes) do not fit in guest memory [0, 0x{memorySize:x}) below the initrd at 0x{memorySize - Math.Min(initrdLength, memorySize):x}");
        }

        ulong pgdir = memorySize - initrdLength - LguestLayout.PageSize;
        ulong linear = pgdir - (ptePages * LguestLayout.PageSize);
        return new IdentityPageTables((uint)linear, (uint)ptePages, (uint)pgdir, (uint)mappedPages);
    }

    /// <summary>
    /// Writes the tables: the whole table range is cleared, then PTE <c>i</c> for every
    /// RAM page and PDE <c>k</c> for every PTE page are filled in.
    /// </summary>
    /// <exception cref="GuestFaultException">The table range is outside <paramref name="memory"/> (a caller bug).</exception>
    public void Write(GuestMemory memory)
    {
        Span<byte> tables = memory.GetSpan(Address, Length);
        tables.Clear();

        Span<byte> ptes = tables[..(int)(PtePages * LguestLayout.PageSize)];
        for (uint i = 0; i < MappedPages; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ptes[(int)(i * 4)..], PteFor(i));
        }

        Span<byte> pgdir = tables[(int)(PtePages * LguestLayout.PageSize)..];
        for (uint k = 0; k < PtePages; k++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(pgdir[(int)(k * 4)..], PdeFor(k));
        }
    }
}
