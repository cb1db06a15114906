using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary>
/// The fields of <c>struct boot_params</c> (the "zero page" at guest physical 0) that the
/// Launcher sets; every other byte of the 4096 stays zero.
/// </summary>
/// <remarks>Spec §7.6.</remarks>
/// <param name="E820Entries">Number of e820 entries (1).</param>
/// <param name="E820Map0">The single RAM entry <c>{0, mem, E820_RAM}</c>.</param>
/// <param name="Version">Boot protocol version (0x0207).</param>
/// <param name="TypeOfLoader">0xFF with an initrd, else 0.</param>
/// <param name="LoadFlags">KEEP_SEGMENTS (0x40).</param>
/// <param name="RamdiskImage">Initrd address, or 0.</param>
/// <param name="RamdiskSize">Initrd length rounded up to a page, or 0.</param>
/// <param name="CmdLinePtr">Command line address (0x1000).</param>
/// <param name="HardwareSubarch">1 = lguest.</param>
public readonly record struct BootParams(
    byte E820Entries,
    E820Entry E820Map0,
    ushort Version,
    byte TypeOfLoader,
    byte LoadFlags,
    uint RamdiskImage,
    uint RamdiskSize,
    uint CmdLinePtr,
    uint HardwareSubarch)
{
    /// <summary>Size of the whole structure: one page.</summary>
    public const int Size = 4096;

    /// <summary>Offset of <c>e820_entries</c> (u8).</summary>
    public const int E820EntriesOffset = 0x1E8;

    /// <summary>Offset of <c>e820_map[0]</c>.</summary>
    public const int E820MapOffset = 0x2D0;

    /// <summary>Offset of <c>hdr.setup_sects</c> (u8).</summary>
    public const int SetupSectsOffset = 0x1F1;

    /// <summary>Offset of <c>hdr.header</c>, the "HdrS" magic.</summary>
    public const int HeaderMagicOffset = 0x202;

    /// <summary>Offset of <c>hdr.version</c> (u16).</summary>
    public const int VersionOffset = 0x206;

    /// <summary>Offset of <c>hdr.type_of_loader</c> (u8).</summary>
    public const int TypeOfLoaderOffset = 0x210;

    /// <summary>Offset of <c>hdr.loadflags</c> (u8).</summary>
    public const int LoadFlagsOffset = 0x211;

    /// <summary>Offset of <c>hdr.code32_start</c> (u32).</summary>
    public const int Code32StartOffset = 0x214;

    /// <summary>Offset of <c>hdr.ramdisk_image</c> (u32).</summary>
    public const int RamdiskImageOffset = 0x218;

    /// <summary>Offset of <c>hdr.ramdisk_size</c> (u32).</summary>
    public const int RamdiskSizeOffset = 0x21C;

    /// <summary>Offset of <c>hdr.cmd_line_ptr</c> (u32).</summary>
    public const int CmdLinePtrOffset = 0x228;

    /// <summary>Offset of <c>hdr.hardware_subarch</c> (u32).</summary>
    public const int HardwareSubarchOffset = 0x23C;

    /// <summary>Value of <c>hdr.version</c> the Launcher writes.</summary>
    public const ushort ProtocolVersion = 0x0207;

    /// <summary><c>KEEP_SEGMENTS</c> in loadflags.</summary>
    public const byte KeepSegments = 0x40;

    /// <summary><c>hardware_subarch</c> value for lguest.</summary>
    public const uint SubarchLguest = 1;

    /// <summary>Where the command line goes.</summary>
    public const uint CommandLineAddress = 0x1000;

    /// <summary>The "HdrS" magic as a little-endian u32.</summary>
    public const uint HdrSMagic = 0x53726448;

    /// <summary>Decodes the Launcher's fields from a 4096-byte zero page.</summary>
    public static BootParams Read(ReadOnlySpan<byte> page)
    {
        page = page[..Size];
        return new(
            page[E820EntriesOffset],
            E820Entry.Read(page[E820MapOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(page[VersionOffset..]),
            page[TypeOfLoaderOffset],
            page[LoadFlagsOffset],
            BinaryPrimitives.ReadUInt32LittleEndian(page[RamdiskImageOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(page[RamdiskSizeOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(page[CmdLinePtrOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(page[HardwareSubarchOffset..]));
    }

    /// <summary>Writes the Launcher's fields into a 4096-byte page; other bytes are left as they are.</summary>
    public void Write(Span<byte> page)
    {
        page = page[..Size];
        page[E820EntriesOffset] = E820Entries;
        E820Map0.Write(page[E820MapOffset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(page[VersionOffset..], Version);
        page[TypeOfLoaderOffset] = TypeOfLoader;
        page[LoadFlagsOffset] = LoadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(page[RamdiskImageOffset..], RamdiskImage);
        BinaryPrimitives.WriteUInt32LittleEndian(page[RamdiskSizeOffset..], RamdiskSize);
        BinaryPrimitives.WriteUInt32LittleEndian(page[CmdLinePtrOffset..], CmdLinePtr);
        BinaryPrimitives.WriteUInt32LittleEndian(page[HardwareSubarchOffset..], HardwareSubarch);
    }
}
