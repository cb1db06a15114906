using System.Buffers.Binary;
using LguestSim.Engine.Abi;

namespace LguestSim.Engine.Loader;

/// <summary>One run of file bytes to copy into guest memory.</summary>
/// <param name="Region">Where it goes and how much guest memory it occupies.</param>
/// <param name="FileOffset">Where the bytes start in the file.</param>
/// <param name="FileBytes">How many bytes to copy (the rest of the region is left zero).</param>
internal readonly record struct ImageCopy(GuestRegion Region, long FileOffset, uint FileBytes);

/// <summary>A kernel file, understood but not yet placed.</summary>
/// <param name="Format">ELF or bzImage.</param>
/// <param name="Entry">The entry point.</param>
/// <param name="Copies">What to copy where.</param>
internal sealed record KernelImage(KernelFormat Format, uint Entry, IReadOnlyList<ImageCopy> Copies)
{
    /// <summary>Where a bzImage's payload goes (1 MiB).</summary>
    public const uint BzImagePayloadAddress = 0x100000;

    /// <summary>
    /// Reads the kernel's headers and works out what goes where, checking everything that
    /// can be checked from the file alone (spec §7.1–§7.3). Nothing is written yet.
    /// </summary>
    /// <exception cref="LauncherException">The file is not a kernel we can load.</exception>
    /// <remarks>lguest.c <c>load_kernel()</c>, <c>load_elf_image()</c>, <c>load_bzimage()</c>.</remarks>
    public static KernelImage Inspect(ImageFile file)
    {
        // The original reads sizeof(Elf32_Ehdr) bytes whatever the format, so a kernel
        // shorter than that is fatal even when it would have been a (broken) bzImage.
        Span<byte> ehdr = stackalloc byte[Elf32Header.Size];
        int got = file.ReadAt(0, ehdr);
        if (got < Elf32Header.Size)
        {
            ThrowHelper.ThrowLauncher($"{file.Label}: cannot read the kernel header (got {got} of {Elf32Header.Size} bytes)");
        }

        return Elf32Header.HasMagic(ehdr)
            ? InspectElf(file, Elf32Header.Read(ehdr))
            : InspectBzImage(file);
    }

    private static KernelImage InspectElf(ImageFile file, Elf32Header header)
    {
        // The original checks type, machine, phentsize and phnum. We also check class and
        // byte order first: an x86-64 vmlinux (ELFCLASS64) would otherwise be reported by
        // whichever 32-bit field happens to land on a different 64-bit one.
        CheckHeaderField(file, "EI_CLASS", header.Class, Elf32Header.Class32);
        CheckHeaderField(file, "EI_DATA", header.Data, Elf32Header.DataLittleEndian);
        CheckHeaderField(file, "e_type", header.Type, Elf32Header.TypeExecutable);
        CheckHeaderField(file, "e_machine", header.Machine, Elf32Header.MachineI386);
        CheckHeaderField(file, "e_phentsize", header.ProgramHeaderEntrySize, Elf32ProgramHeader.Size);
        if (header.ProgramHeaderCount is < 1 or > Elf32Header.MaxProgramHeaders)
        {
            ThrowHelper.ThrowLauncher($"{file.Label}: malformed ELF header (e_phnum {header.ProgramHeaderCount}, expected 1..{Elf32Header.MaxProgramHeaders})");
        }

        int tableBytes = header.ProgramHeaderCount * Elf32ProgramHeader.Size;
        long tableStart = header.ProgramHeaderOffset;
        if (tableStart > file.Length || tableBytes > file.Length - tableStart)
        {
            ThrowHelper.ThrowLauncher(
                $"{file.Label}: program headers [0x{tableStart:x}, 0x{tableStart + tableBytes:x}) are past the end of the file (0x{file.Length:x} bytes)");
        }

        byte[] table = new byte[tableBytes];
        file.ReadExactlyAt(tableStart, table, "the program headers");

        var copies = new List<ImageCopy>();
        for (int i = 0; i < header.ProgramHeaderCount; i++)
        {
            var ph = Elf32ProgramHeader.Read(table.AsSpan(i * Elf32ProgramHeader.Size));
            if (ph.Type != Elf32ProgramHeader.TypeLoad)
            {
                continue;
            }

            // p_vaddr is ignored: the Launcher works in physical addresses only.
            if (ph.Offset > file.Length || ph.FileSize > file.Length - ph.Offset)
            {
                ThrowHelper.ThrowLauncher(
                    $"{file.Label}: segment {i} file bytes [0x{ph.Offset:x}, 0x{(ulong)ph.Offset + ph.FileSize:x}) are past the end of the file (0x{file.Length:x} bytes)");
            }

            // The region covers p_memsz too: the kernel clears its BSS in place, so a BSS that
            // runs past RAM or into the initrd is as broken as file bytes that do.
            ulong extent = Math.Max(ph.FileSize, ph.MemorySize);
            if (extent == 0)
            {
                continue;
            }

            var region = new GuestRegion($"{file.Label} segment {i}", ph.PhysicalAddress, extent);
            copies.Add(new ImageCopy(region, ph.Offset, ph.FileSize));
        }

        if (copies.Count == 0)
        {
            ThrowHelper.ThrowLauncher($"{file.Label}: no PT_LOAD segment to load");
        }

        return new KernelImage(KernelFormat.Elf, header.Entry, copies);
    }

    private static void CheckHeaderField(ImageFile file, string field, uint actual, uint expected)
    {
        if (actual != expected)
        {
            ThrowHelper.ThrowLauncher($"{file.Label}: malformed ELF header ({field} {actual}, expected {expected})");
        }
    }

    private static KernelImage InspectBzImage(ImageFile file)
    {
        // The original reads a boot_params-sized block from offset 0 without checking the
        // count; bytes past the end of a short file read as zero here.
        Span<byte> header = stackalloc byte[BootParams.Size];
        header.Clear();
        file.ReadAt(0, header);

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[BootParams.HeaderMagicOffset..]) != BootParams.HdrSMagic)
        {
            ThrowHelper.ThrowLauncher($"{file.Label}: neither an ELF file nor a bzImage (no \"HdrS\" at 0x{BootParams.HeaderMagicOffset:x})");
        }

        // QUIRK kept (spec §7.3): the boot protocol says setup_sects 0 means 4, but the
        // 2.6.25 Launcher uses the byte as it is, so a 0 puts the payload at 512. Every
        // bzImage Linux itself builds has setup_sects >= 4, so only hand-made files notice.
        byte setupSects = header[BootParams.SetupSectsOffset];
        long payloadOffset = (setupSects + 1L) * 512;
        if (payloadOffset >= file.Length)
        {
            ThrowHelper.ThrowLauncher(
                $"{file.Label}: bzImage payload offset 0x{payloadOffset:x} (setup_sects {setupSects}) is at or past the end of the file (0x{file.Length:x} bytes)");
        }

        ulong payloadBytes = (ulong)(file.Length - payloadOffset);
        uint entry = BinaryPrimitives.ReadUInt32LittleEndian(header[BootParams.Code32StartOffset..]);
        var region = new GuestRegion($"{file.Label} payload", BzImagePayloadAddress, payloadBytes);

        // A payload over 4 GiB cannot fit any guest; the placement check reports it, so the
        // copy length is clamped only to keep it representable.
        uint copyBytes = (uint)Math.Min(payloadBytes, uint.MaxValue);
        return new KernelImage(KernelFormat.BzImage, entry, [new ImageCopy(region, payloadOffset, copyBytes)]);
    }
}
