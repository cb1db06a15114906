using System.Buffers.Binary;

namespace LguestSim.Engine.Loader;

/// <summary>
/// The fields of <c>Elf32_Ehdr</c> (<c>struct elf32_hdr</c>) the Launcher looks at: the
/// 52-byte header at the start of an i386 vmlinux.
/// </summary>
/// <remarks>Spec §7.1–§7.2. Little-endian, read field by field.</remarks>
/// <param name="Class"><c>e_ident[EI_CLASS]</c>: 1 = ELFCLASS32, 2 = ELFCLASS64.</param>
/// <param name="Data"><c>e_ident[EI_DATA]</c>: 1 = little-endian (ELFDATA2LSB).</param>
/// <param name="Type"><c>e_type</c>: 2 = ET_EXEC.</param>
/// <param name="Machine"><c>e_machine</c>: 3 = EM_386.</param>
/// <param name="Entry"><c>e_entry</c>: for a vmlinux, the physical address of <c>startup_32</c>.</param>
/// <param name="ProgramHeaderOffset"><c>e_phoff</c>: file offset of the program header table.</param>
/// <param name="ProgramHeaderEntrySize"><c>e_phentsize</c>: must be 32.</param>
/// <param name="ProgramHeaderCount"><c>e_phnum</c>: 1 to 2048.</param>
public readonly record struct Elf32Header(
    byte Class,
    byte Data,
    ushort Type,
    ushort Machine,
    uint Entry,
    uint ProgramHeaderOffset,
    ushort ProgramHeaderEntrySize,
    ushort ProgramHeaderCount)
{
    /// <summary>Size of <c>Elf32_Ehdr</c>, and the number of bytes the Launcher reads first.</summary>
    public const int Size = 52;

    /// <summary>Offset of <c>e_ident[EI_CLASS]</c>.</summary>
    public const int ClassOffset = 4;

    /// <summary>Offset of <c>e_ident[EI_DATA]</c>.</summary>
    public const int DataOffset = 5;

    /// <summary>Offset of <c>e_type</c> (u16).</summary>
    public const int TypeOffset = 16;

    /// <summary>Offset of <c>e_machine</c> (u16).</summary>
    public const int MachineOffset = 18;

    /// <summary>Offset of <c>e_entry</c> (u32).</summary>
    public const int EntryOffset = 24;

    /// <summary>Offset of <c>e_phoff</c> (u32).</summary>
    public const int ProgramHeaderOffsetOffset = 28;

    /// <summary>Offset of <c>e_phentsize</c> (u16).</summary>
    public const int ProgramHeaderEntrySizeOffset = 42;

    /// <summary>Offset of <c>e_phnum</c> (u16).</summary>
    public const int ProgramHeaderCountOffset = 44;

    /// <summary><c>ELFCLASS32</c>.</summary>
    public const byte Class32 = 1;

    /// <summary><c>ELFDATA2LSB</c>.</summary>
    public const byte DataLittleEndian = 1;

    /// <summary><c>ET_EXEC</c>.</summary>
    public const ushort TypeExecutable = 2;

    /// <summary><c>EM_386</c>.</summary>
    public const ushort MachineI386 = 3;

    /// <summary>The most program headers the Launcher accepts: 65536 / 32.</summary>
    public const int MaxProgramHeaders = 65536 / Elf32ProgramHeader.Size;

    /// <summary>True when <paramref name="image"/> starts with <c>7F 'E' 'L' 'F'</c>.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> image) =>
        image.Length >= 4 && image[0] == 0x7F && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F';

    /// <summary>Decodes the first 52 bytes of <paramref name="source"/>.</summary>
    public static Elf32Header Read(ReadOnlySpan<byte> source)
    {
        source = source[..Size];
        return new(
            source[ClassOffset],
            source[DataOffset],
            BinaryPrimitives.ReadUInt16LittleEndian(source[TypeOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[MachineOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[EntryOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[ProgramHeaderOffsetOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[ProgramHeaderEntrySizeOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[ProgramHeaderCountOffset..]));
    }
}

/// <summary><c>Elf32_Phdr</c>: one 32-byte program header.</summary>
/// <remarks>Spec §7.2. Only <c>PT_LOAD</c> entries matter; <c>p_vaddr</c> is read but ignored.</remarks>
/// <param name="Type"><c>p_type</c>: 1 = PT_LOAD.</param>
/// <param name="Offset"><c>p_offset</c>: where the segment's bytes start in the file.</param>
/// <param name="VirtualAddress"><c>p_vaddr</c>: ignored by the Launcher.</param>
/// <param name="PhysicalAddress"><c>p_paddr</c>: where the bytes go in guest-physical memory.</param>
/// <param name="FileSize"><c>p_filesz</c>: bytes copied from the file.</param>
/// <param name="MemorySize"><c>p_memsz</c>: bytes the segment occupies once the kernel has cleared its BSS.</param>
/// <param name="Flags"><c>p_flags</c>.</param>
/// <param name="Align"><c>p_align</c>.</param>
public readonly record struct Elf32ProgramHeader(
    uint Type,
    uint Offset,
    uint VirtualAddress,
    uint PhysicalAddress,
    uint FileSize,
    uint MemorySize,
    uint Flags,
    uint Align)
{
    /// <summary>Size of <c>Elf32_Phdr</c>, the only <c>e_phentsize</c> accepted.</summary>
    public const int Size = 32;

    /// <summary><c>PT_LOAD</c>.</summary>
    public const uint TypeLoad = 1;

    /// <summary>Offset of <c>p_paddr</c> inside the entry.</summary>
    public const int PhysicalAddressOffset = 12;

    /// <summary>Offset of <c>p_filesz</c> inside the entry.</summary>
    public const int FileSizeOffset = 16;

    /// <summary>Offset of <c>p_memsz</c> inside the entry.</summary>
    public const int MemorySizeOffset = 20;

    /// <summary>Decodes the first 32 bytes of <paramref name="source"/>.</summary>
    public static Elf32ProgramHeader Read(ReadOnlySpan<byte> source)
    {
        source = source[..Size];
        return new(
            BinaryPrimitives.ReadUInt32LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[PhysicalAddressOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[FileSizeOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[MemorySizeOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[28..32]));
    }
}
