using System.Buffers.Binary;
using System.Text;
using LguestSim.Backends.Simulated.Transcript;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Memory;

namespace LguestSim.Tests.Golden.Loader;

/// <summary>
/// A canonical text summary of a loaded guest: kernel placement, initrd, page tables, the
/// command line and the boot_params page. No host paths, invariant formatting.
/// </summary>
internal static class BootLayoutReport
{
    public static string Format(BootSetup setup, GuestMemory memory)
    {
        var sb = new StringBuilder();
        ulong mem = setup.MemorySize;
        Line(sb, "# loader golden (spec §7): what the Launcher writes into guest RAM before LHREQ_INITIALIZE");
        Line(sb, $"mem 0x{mem:x} ({mem / 1048576} MiB)");
        Line(sb, $"LHREQ_INITIALIZE pgdir 0x{setup.PageDirectory:x} entry 0x{setup.Entry:x}");

        Line(sb, "");
        Line(sb, "kernel");
        Line(sb, $"  format {(setup.Kernel.Format == KernelFormat.Elf ? "elf" : "bzimage")}, entry 0x{setup.Kernel.Entry:x}, 0x{setup.Kernel.BytesCopied:x} file bytes copied");

        Line(sb, "");
        Line(sb, "initrd");
        if (setup.Initrd is { } initrd)
        {
            Line(sb, $"  file size {initrd.FileSize} (0x{initrd.FileSize:x}), rounded 0x{initrd.Length:x}");
            Line(sb, $"  at [0x{initrd.Address:x}, 0x{(ulong)initrd.Address + initrd.Length:x}), ends at mem: {YesNo((ulong)initrd.Address + initrd.Length == mem)}");
            ulong tail = initrd.Length - initrd.FileSize;
            Line(sb, $"  tail padding 0x{tail:x} bytes, all zero: {YesNo(tail == 0 || memory.GetSpan(initrd.Address + initrd.FileSize, tail).IndexOfAnyExcept((byte)0) < 0)}");
        }
        else
        {
            Line(sb, "  none");
        }

        Line(sb, "");
        Line(sb, "regions, in placement order");
        foreach (GuestRegion r in setup.Regions)
        {
            Line(sb, $"  {r.RangeText,-26} {r.Name}");
        }

        Line(sb, $"  non-zero RAM bytes outside these regions: {CountStrayBytes(setup, memory)}");

        AppendPageTables(sb, setup, memory);

        byte[] commandLine = memory.GetSpan(BootParams.CommandLineAddress, (ulong)Encoding.UTF8.GetByteCount(setup.CommandLine) + 1).ToArray();
        Line(sb, "");
        Line(sb, $"command line at 0x{BootParams.CommandLineAddress:x}: \"{setup.CommandLine}\" ({commandLine.Length - 1} bytes + NUL)");
        sb.Append(HexDump.Format(commandLine, BootParams.CommandLineAddress));

        BootParams bp = BootParams.Read(memory.GetSpan(0, BootParams.Size));
        Line(sb, "");
        Line(sb, "boot_params fields");
        Line(sb, $"  0x1e8 e820_entries        {bp.E820Entries}");
        Line(sb, $"  0x2d0 e820_map[0]         addr 0x{bp.E820Map0.Addr:x} size 0x{bp.E820Map0.Length:x} type {bp.E820Map0.Type}");
        Line(sb, $"  0x206 hdr.version         0x{bp.Version:x4}");
        Line(sb, $"  0x210 hdr.type_of_loader  0x{bp.TypeOfLoader:x2}");
        Line(sb, $"  0x211 hdr.loadflags       0x{bp.LoadFlags:x2}");
        Line(sb, $"  0x218 hdr.ramdisk_image   0x{bp.RamdiskImage:x}");
        Line(sb, $"  0x21c hdr.ramdisk_size    0x{bp.RamdiskSize:x}");
        Line(sb, $"  0x228 hdr.cmd_line_ptr    0x{bp.CmdLinePtr:x}");
        Line(sb, $"  0x23c hdr.hardware_subarch {bp.HardwareSubarch}");

        Line(sb, "");
        Line(sb, "boot_params page (zero lines folded to *)");
        sb.Append(HexDump.Format(memory.GetSpan(0, BootParams.Size), 0));
        return sb.ToString();
    }

    private static void AppendPageTables(StringBuilder sb, BootSetup setup, GuestMemory memory)
    {
        IdentityPageTables t = setup.PageTables;
        Line(sb, "");
        Line(sb, "page tables");
        Line(sb, $"  pgdir 0x{t.PageDirectory:x}, directly below the initrd (or mem): {YesNo((ulong)t.PageDirectory + 4096 == setup.MemorySize - setup.InitrdSize)}");
        Line(sb, $"  pte pages {t.PtePages} at [0x{t.PteAddress:x}, 0x{t.PageDirectory:x})");
        Line(sb, $"  mapped pages {t.MappedPages} = [0x0, 0x{(ulong)t.MappedPages * 4096:x})");

        ReadOnlySpan<byte> pgdir = memory.GetSpan(t.PageDirectory, 4096);
        int nonZeroPdes = 0;
        for (int k = 0; k < 1024; k++)
        {
            uint pde = BinaryPrimitives.ReadUInt32LittleEndian(pgdir[(k * 4)..]);
            if (pde != 0)
            {
                nonZeroPdes++;
                Line(sb, $"  pde[{k}] = 0x{pde:x}");
            }
        }

        Line(sb, $"  non-zero pdes: {nonZeroPdes} of 1024");

        ReadOnlySpan<byte> ptes = memory.GetSpan(t.PteAddress, t.PtePages * 4096UL);
        int slots = ptes.Length / 4;
        int mapped = (int)t.MappedPages;
        foreach (int i in new[] { 0, 1, mapped - 2, mapped - 1 })
        {
            Line(sb, $"  pte[{i}] = 0x{Pte(ptes, i):x}");
        }

        int nonZeroPtes = 0;
        bool identity = true;
        for (int i = 0; i < slots; i++)
        {
            uint pte = Pte(ptes, i);
            nonZeroPtes += pte != 0 ? 1 : 0;
            identity &= pte == (i < mapped ? ((uint)i * 4096) | 7 : 0);
        }

        Line(sb, $"  non-zero ptes: {nonZeroPtes} of {slots} slots; zero slots {(mapped < slots ? $"{mapped}..{slots - 1}" : "none")}");
        Line(sb, $"  pte[i] == i*4096|7 for every i < {mapped} and all other slots zero: {YesNo(identity)}");
    }

    private static uint Pte(ReadOnlySpan<byte> ptes, int i) => BinaryPrimitives.ReadUInt32LittleEndian(ptes[(i * 4)..]);

    private static long CountStrayBytes(BootSetup setup, GuestMemory memory)
    {
        ReadOnlySpan<byte> ram = memory.GetSpan(0, setup.MemorySize);
        long stray = 0;
        ulong cursor = 0;
        foreach (GuestRegion r in setup.Regions.OrderBy(r => r.Address))
        {
            stray += CountNonZero(ram[(int)cursor..(int)Math.Max(cursor, r.Address)]);
            cursor = Math.Max(cursor, r.End);
        }

        return stray + CountNonZero(ram[(int)cursor..]);
    }

    private static long CountNonZero(ReadOnlySpan<byte> bytes) => bytes.Length - bytes.Count((byte)0);

    private static string YesNo(bool value) => value ? "yes" : "NO";

    private static void Line(StringBuilder sb, string text) => sb.Append(text).Append('\n');
}
