using LguestSim.Tests.Property.Infrastructure;
using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LguestSim.Engine;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Loader;
using Xunit;

namespace LguestSim.Tests.Property.Loader;

/// <summary>A guest size in MiB and an initrd length in pages.</summary>
public readonly record struct PageTableCase(uint MemoryMiB, uint InitrdPages)
{
    public ulong MemorySize => MemoryMiB * LoaderFixtures.MiB;

    public ulong InitrdLength => InitrdPages * 4096UL;

    /// <summary>Pages the tables need: ceil(mem / 4 MiB) PTE pages plus the directory.</summary>
    public static uint TablePages(uint memoryMiB) => ((memoryMiB + 3) / 4) + 1;

    /// <summary>The largest initrd (in pages) that leaves room for the tables.</summary>
    public static uint MaxInitrdPages(uint memoryMiB) => (memoryMiB * 256) - TablePages(memoryMiB);

    public override string ToString() => $"mem {MemoryMiB} MiB, initrd {InitrdPages} pages";
}

/// <summary>Generators for the page-table properties.</summary>
public static class PageTableArbitraries
{
    private static readonly Gen<uint> s_memoryMiB = Gen.Frequency(
        (6, Gen.Choose(1, 1024).Select(m => (uint)m)),
        (1, Gen.Elements(1u, 2u, 3u, 4u, 5u, 8u, 37u, 64u, 1020u, 1023u, 1024u)));

    /// <summary>Any memory size 1..1024 MiB with an initrd that fits (edges weighted in).</summary>
    public static Arbitrary<PageTableCase> FittingCase() =>
        (from mib in s_memoryMiB
         let max = (int)PageTableCase.MaxInitrdPages(mib)
         from pages in Gen.Frequency(
             (2, Gen.Constant(0)),
             (1, Gen.Constant(max)),
             (6, Gen.Choose(0, max)))
         select new PageTableCase(mib, (uint)pages)).ToArbitrary();
}

/// <summary>Generators for the failing side: initrds that leave no room for the tables.</summary>
public static class TooBigInitrdArbitraries
{
    /// <summary>Any memory size 1..1024 MiB with an initrd from "one page too many" up to all of RAM.</summary>
    public static Arbitrary<PageTableCase> TooBigCase() =>
        (from mib in Gen.Choose(1, 1024).Select(m => (uint)m)
         let min = (int)PageTableCase.MaxInitrdPages(mib) + 1
         from pages in Gen.Frequency((1, Gen.Constant(min)), (3, Gen.Choose(min, (int)mib * 256)))
         select new PageTableCase(mib, (uint)pages)).ToArbitrary();
}

public sealed class PageTableProperties
{
    private const uint Flags = 0x7;

    /// <summary>
    /// For any RAM size 1..1024 MiB and any initrd that fits, the tables identity-map every page
    /// of [0, mem) with flags 0x7, map nothing else, and end exactly where the initrd starts.
    /// Only the table range is backed, so any write elsewhere fails the case.
    /// </summary>
    [Property(Arbitrary = new[] { typeof(PageTableArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void Tables_MapExactlyRam_DirectlyBelowInitrd(PageTableCase c)
    {
        IdentityPageTables tables = IdentityPageTables.Plan(c.MemorySize, c.InitrdLength);
        var memory = new WindowGuestMemory(DevicePage.CapacityFor(c.MemorySize), c.MemorySize, tables.Address, tables.Length);
        tables.Write(memory);

        uint mappedPages = c.MemoryMiB * 256;
        uint ptePages = (mappedPages + 1023) / 1024;
        Assert.Equal(ptePages, tables.PtePages);
        Assert.Equal(mappedPages, tables.MappedPages);
        Assert.Equal(c.MemorySize - c.InitrdLength, (ulong)tables.PageDirectory + 4096);
        Assert.Equal((ulong)tables.PageDirectory - (ptePages * 4096UL), tables.Address);

        ReadOnlySpan<byte> window = memory.Window;
        ReadOnlySpan<byte> pgdir = window[(int)(ptePages * 4096)..];

        // Every PDE slot: the k-th PTE page for k < ptePages, else 0.
        for (uint k = 0; k < 1024; k++)
        {
            uint pde = BinaryPrimitives.ReadUInt32LittleEndian(pgdir[(int)(k * 4)..]);
            uint expected = k < ptePages ? (tables.PteAddress + (k * 4096)) | Flags : 0;
            if (pde != expected)
            {
                Assert.Fail($"{c}: pde[{k}] = 0x{pde:x}, expected 0x{expected:x}");
            }
        }

        // Every PTE slot of every PTE page: page i for i < mapped, else 0.
        for (uint i = 0; i < ptePages * 1024; i++)
        {
            uint pte = BinaryPrimitives.ReadUInt32LittleEndian(window[(int)(i * 4)..]);
            uint expected = i < mappedPages ? (i * 4096) | Flags : 0;
            if (pte != expected)
            {
                Assert.Fail($"{c}: pte[{i}] = 0x{pte:x}, expected 0x{expected:x}");
            }
        }

        // And as a walk: every RAM page translates to itself through the directory.
        foreach (uint page in SamplePages(mappedPages))
        {
            uint pde = BinaryPrimitives.ReadUInt32LittleEndian(pgdir[(int)((page >> 10) * 4)..]);
            Assert.Equal(Flags, pde & 0xFFF);
            ulong pteAddress = (pde & ~0xFFFu) + ((page & 1023) * 4);
            Assert.InRange(pteAddress, tables.Address, (ulong)tables.PageDirectory - 4);
            uint pte = BinaryPrimitives.ReadUInt32LittleEndian(window[(int)(pteAddress - tables.Address)..]);
            Assert.Equal(page * 4096, pte & ~0xFFFu);
            Assert.Equal(Flags, pte & 0xFFF);
        }
    }

    /// <summary>When the initrd leaves no room for the tables, planning fails with a one-line LauncherException.</summary>
    [Property(Arbitrary = new[] { typeof(TooBigInitrdArbitraries) }, MaxTest = 200 * PropertyScale.Factor)]
    public void Tables_ThatDoNotFit_AreALauncherError(PageTableCase c)
    {
        Assert.True(c.InitrdPages > PageTableCase.MaxInitrdPages(c.MemoryMiB), $"generator gave a fitting case: {c}");
        var ex = Assert.Throws<LauncherException>(() => IdentityPageTables.Plan(c.MemorySize, c.InitrdLength));
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData(64u, 0u, 0x3FEF000u, 16u, 0x3FFF000u)] // spec §7.5 example
    [InlineData(1u, 0u, 0xFE000u, 1u, 0xFF000u)]
    [InlineData(4u, 0u, 0x3FE000u, 1u, 0x3FF000u)]
    [InlineData(5u, 0u, 0x4FD000u, 2u, 0x4FF000u)]
    [InlineData(64u, 2u, 0x3FED000u, 16u, 0x3FFD000u)]
    public void Plan_MatchesHandWorkedLayouts(uint mib, uint initrdPages, uint pte, uint ptePages, uint pgdir)
    {
        IdentityPageTables tables = IdentityPageTables.Plan(mib * LoaderFixtures.MiB, initrdPages * 4096UL);
        Assert.Equal(new IdentityPageTables(pte, ptePages, pgdir, mib * 256), tables);
    }

    private static IEnumerable<uint> SamplePages(uint mappedPages)
    {
        // First, last, each 4 MiB boundary and a spread in between: the full scan above already
        // checks every slot; this walk checks the two levels agree.
        for (uint p = 0; p < mappedPages; p += 1023)
        {
            yield return p;
        }

        yield return mappedPages - 1;
    }
}
