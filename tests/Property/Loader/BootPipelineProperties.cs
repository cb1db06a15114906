using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Loader;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Loader;

/// <summary>A whole load: guest size, initrd file size (any, fitting or not) and content seed.</summary>
public readonly record struct BootCase(uint MemoryMiB, int InitrdSize, int Seed)
{
    public override string ToString() => $"mem {MemoryMiB} MiB, initrd {InitrdSize} bytes, seed {Seed}";
}

/// <summary>Generators for whole loads of the ELF fixture.</summary>
public static class BootCaseArbitraries
{
    /// <summary>3..24 MiB (the fixture ends at 0x203000), initrd sizes from 0 to all of RAM, page edges weighted in.</summary>
    public static Arbitrary<BootCase> Case() =>
        (from mib in Gen.Choose(3, 24)
         let ram = mib * 1048576
         from size in Gen.Frequency(
             (1, Gen.Constant(0)),
             (4, Gen.Choose(1, ram)),
             (2, Gen.Choose(1, ram / 4096).Select(p => p * 4096)),
             (2, Gen.Choose(1, ram / 4096).SelectMany(p => Gen.Elements((p * 4096) - 1, (p * 4096) + 1))))
         from seed in Gen.Choose(0, 1000)
         select new BootCase((uint)mib, size, seed)).ToArbitrary();
}

public sealed class BootPipelineProperties
{
    /// <summary>
    /// Loading the ELF fixture with any initrd either succeeds, with the initrd at the top of RAM,
    /// the page tables directly below it and boot_params pointing at both, or, exactly when the
    /// initrd and tables cannot fit above the kernel, fails with a one-line LauncherException
    /// before writing anything past RAM.
    /// </summary>
    [Property(Arbitrary = new[] { typeof(BootCaseArbitraries) }, MaxTest = 40 * PropertyScale.Factor)]
    public void Load_WithAnyInitrd_PlacesEverythingOrRefuses(BootCase c)
    {
        ulong mem = c.MemoryMiB * LoaderFixtures.MiB;
        ulong initrdLength = ((ulong)c.InitrdSize + 4095) & ~4095UL;
        ulong tableBytes = PageTableCase.TablePages(c.MemoryMiB) * 4096UL;
        bool fits = initrdLength + tableBytes <= mem - LoaderFixtures.ElfKernelEnd;

        var memory = LoaderFixtures.Memory(mem);
        var builder = new BootImageBuilder(memory, mem);
        byte[] initrd = LoaderFixtures.InitrdBytes(c.InitrdSize, c.Seed);
        BootSetup setup;
        try
        {
            LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
            builder.LoadInitrd(new MemoryStream(initrd, writable: false), "initrd.img");
            setup = builder.Finish(["root=/dev/vda"]);
        }
        catch (LauncherException ex)
        {
            Assert.False(fits, $"{c}: refused although it fits: {ex.Message}");
            Assert.DoesNotContain('\n', ex.Message);
            Assert.True(LoaderFixtures.NothingAboveRam(memory, mem), "wrote past RAM");
            return;
        }

        Assert.True(fits, $"{c}: accepted although it does not fit");
        Assert.Equal((uint)(mem - initrdLength), setup.InitrdAddress);
        Assert.Equal((uint)initrdLength, setup.InitrdSize);
        Assert.Equal(setup.InitrdAddress, setup.PageDirectory + 4096);
        Assert.True(c.InitrdSize == 0 || memory.GetSpan(setup.InitrdAddress, (ulong)c.InitrdSize).SequenceEqual(initrd));
        Assert.True(LoaderFixtures.AllZero(memory, setup.InitrdAddress + (ulong)c.InitrdSize, initrdLength - (ulong)c.InitrdSize));

        BootParams bp = BootParams.Read(memory.GetSpan(0, BootParams.Size));
        Assert.Equal(setup.InitrdAddress, bp.RamdiskImage);
        Assert.Equal(setup.InitrdSize, bp.RamdiskSize);
        Assert.Equal(0xFF, bp.TypeOfLoader);
        Assert.Equal(new E820Entry(0, mem, 1), bp.E820Map0);

        // Spot-check the identity map through the directory (the full scan is in PageTableProperties).
        foreach (ulong address in new ulong[] { 0, 0x100000, setup.PageDirectory, mem - 1 })
        {
            uint pde = memory.ReadU32(setup.PageDirectory + ((address >> 22) * 4));
            uint pte = memory.ReadU32((pde & ~0xFFFu) + (((address >> 12) & 1023) * 4));
            Assert.Equal((uint)(address & ~0xFFFUL) | 7u, pte);
        }

        Assert.True(LoaderFixtures.NothingAboveRam(memory, mem), "wrote past RAM");
    }
}
