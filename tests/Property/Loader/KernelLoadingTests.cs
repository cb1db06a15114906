using System.Buffers.Binary;
using System.Text;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Memory;
using Xunit;

namespace LguestSim.Tests.Property.Loader;

/// <summary>What a good load puts where (spec §7.2–§7.7), on the committed fixtures.</summary>
public sealed class KernelLoadingTests
{
    private const ulong Mem = 64 * LoaderFixtures.MiB;

    [Fact]
    public void Elf_PlacesEachPtLoadAtPaddr_ExactlyFileszBytes()
    {
        byte[] elf = LoaderFixtures.Elf();
        var builder = LoaderFixtures.Builder(64);
        LoadedKernel kernel = LoaderFixtures.LoadKernel(builder, elf);

        Assert.Equal(KernelFormat.Elf, kernel.Format);
        Assert.Equal(0x100000u, kernel.Entry);
        Assert.Equal(2, kernel.Segments.Count);
        Assert.Equal(new GuestRegion("kernel vmlinux segment 0", 0x100000, 0x14), kernel.Segments[0]);
        Assert.Equal(new GuestRegion("kernel vmlinux segment 1", 0x200000, 0x3000), kernel.Segments[1]);
        Assert.Equal(0x14UL + 0x2C, kernel.BytesCopied);

        for (int i = 0; i < 2; i++)
        {
            var ph = Elf32ProgramHeader.Read(elf.AsSpan(LoaderFixtures.Phdr(i)));
            Assert.True(builder.Memory.GetSpan(ph.PhysicalAddress, ph.FileSize).SequenceEqual(elf.AsSpan((int)ph.Offset, (int)ph.FileSize)));
        }

        // The data segment's file page continues past p_filesz (the section headers): those
        // bytes must not come along, and the BSS stays zero.
        var data = Elf32ProgramHeader.Read(elf.AsSpan(LoaderFixtures.Phdr(1)));
        Assert.True((int)(data.Offset + data.FileSize) < elf.Length);
        Assert.True(elf.AsSpan((int)(data.Offset + data.FileSize)).IndexOfAnyExcept((byte)0) >= 0);
        Assert.True(builder.Memory.GetSpan(0x20002C, 0x3000 - 0x2C).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Elf_PvaddrIsIgnored()
    {
        byte[] elf = LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(1) + 8, 0xDEADB000);
        var builder = LoaderFixtures.Builder(64);
        LoadedKernel kernel = LoaderFixtures.LoadKernel(builder, elf);
        Assert.Equal(0x200000UL, kernel.Segments[1].Address);
        Assert.Equal(0x4C475354u, builder.Memory.ReadU32(0x200028));
    }

    [Fact]
    public void Elf_NonLoadProgramHeadersAreSkipped()
    {
        byte[] elf = LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(1), 4); // PT_NOTE
        var builder = LoaderFixtures.Builder(64);
        LoadedKernel kernel = LoaderFixtures.LoadKernel(builder, elf);
        Assert.Single(kernel.Segments);
        Assert.Equal(0u, builder.Memory.ReadU32(0x200028));
    }

    [Fact]
    public void BzImage_PayloadAt1MiB_EntryIsCode32Start_HeaderNotCopied()
    {
        byte[] bz = LoaderFixtures.BzImage();
        var builder = LoaderFixtures.Builder(64);
        LoadedKernel kernel = LoaderFixtures.LoadKernel(builder, bz, "bzImage");
        Assert.Equal(KernelFormat.BzImage, kernel.Format);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(bz.AsSpan(0x214)), kernel.Entry);
        Assert.Equal(0x100000u, kernel.Entry);
        Assert.Equal(new GuestRegion("kernel bzImage payload", 0x100000, (ulong)bz.Length - 0x600), Assert.Single(kernel.Segments));
        Assert.True(builder.Memory.GetSpan(0x100000, (ulong)bz.Length - 0x600).SequenceEqual(bz.AsSpan(0x600)));

        builder.Finish([]);
        Span<byte> zeroPage = builder.Memory.GetSpan(0, 4096);
        Assert.Equal(0, zeroPage[0x1F1]); // setup_sects not copied
        Assert.Equal(0, zeroPage[0x1F2]); // root_flags
        Assert.Equal(0x40, zeroPage[0x211]); // KEEP_SEGMENTS only, not the file's LOADED_HIGH
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(zeroPage[0x202..])); // no "HdrS"
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(zeroPage[0x214..])); // no code32_start
    }

    [Fact]
    public void BzImage_SetupSectsZero_IsTakenLiterally_Quirk()
    {
        // The boot protocol says 0 means 4; the 2.6.25 Launcher (and we) read the payload from 512.
        byte[] bz = LoaderFixtures.PatchU8(LoaderFixtures.BzImage(), 0x1F1, 0);
        var builder = LoaderFixtures.Builder(64);
        LoadedKernel kernel = LoaderFixtures.LoadKernel(builder, bz, "bzImage");
        Assert.Equal((ulong)bz.Length - 512, kernel.Segments[0].Length);
        Assert.True(builder.Memory.GetSpan(0x100000, (ulong)bz.Length - 512).SequenceEqual(bz.AsSpan(512)));
    }

    [Theory]
    [InlineData(5200, 8192)]
    [InlineData(4096, 4096)]
    [InlineData(1, 4096)]
    [InlineData(0, 0)]
    public void Initrd_AtTopOfRam_RoundedSize_TailZero(int size, uint rounded)
    {
        byte[] initrd = LoaderFixtures.InitrdBytes(size);
        var builder = LoaderFixtures.Builder(64);
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        LoadedInitrd placed = builder.LoadInitrd(new MemoryStream(initrd), "initrd.img");
        BootSetup setup = builder.Finish([]);

        Assert.Equal(new LoadedInitrd((uint)(Mem - rounded), rounded, (ulong)size), placed);
        Assert.True(size == 0 || builder.Memory.GetSpan(placed.Address, (ulong)size).SequenceEqual(initrd));
        Assert.True(LoaderFixtures.AllZero(builder.Memory, placed.Address + (ulong)size, rounded - (ulong)size));

        BootParams bp = BootParams.Read(builder.Memory.GetSpan(0, 4096));
        Assert.Equal(0xFF, bp.TypeOfLoader);
        Assert.Equal(placed.Address, bp.RamdiskImage);
        Assert.Equal(rounded, bp.RamdiskSize);
        Assert.Equal(placed.Address, setup.PageDirectory + 4096);
    }

    [Fact]
    public void NoInitrd_LeavesRamdiskFieldsAndLoaderTypeZero()
    {
        var builder = LoaderFixtures.Builder(64);
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        BootSetup setup = builder.Finish([]);
        Assert.Null(setup.Initrd);
        Assert.Equal(0u, setup.InitrdAddress);
        BootParams bp = BootParams.Read(builder.Memory.GetSpan(0, 4096));
        Assert.Equal(new BootParams(1, new E820Entry(0, Mem, 1), 0x0207, 0, 0x40, 0, 0, 0x1000, 1), bp);
        Assert.Equal(0x3FFF000u, setup.PageDirectory);
        Assert.Equal(0x3FEF000u, setup.PageTables.PteAddress);
    }

    [Theory]
    [InlineData(new string[0], "")]
    [InlineData(new[] { "root=/dev/vda" }, "root=/dev/vda")]
    [InlineData(new[] { "root=/dev/vda", "console=hvc0", "init=/bin/sh" }, "root=/dev/vda console=hvc0 init=/bin/sh")]
    [InlineData(new[] { "a", "", "b" }, "a  b")]
    public void CommandLine_JoinedBySingleSpaces_NulTerminatedAt0x1000(string[] args, string expected)
    {
        var builder = LoaderFixtures.Builder(64);
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        BootSetup setup = builder.Finish(args);
        Assert.Equal(expected, setup.CommandLine);
        byte[] bytes = Encoding.UTF8.GetBytes(expected + "\0");
        Assert.True(builder.Memory.GetSpan(0x1000, (ulong)bytes.Length).SequenceEqual(bytes));
        Assert.Equal(0x1000u, builder.Memory.ReadU32(0x228));
    }

    [Fact]
    public void BootLoader_FromFiles_WithDevicePageAllocated()
    {
        // As a Launcher runs it: devices exist (guest_limit above mem) before the kernel loads.
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        var page = new DevicePage(memory);
        page.AllocatePages(4);

        BootSetup setup = BootLoader.Load(memory, Mem, LoaderFixtures.ElfPath, LoaderFixtures.InitrdPath, ["console=hvc0"]);
        Assert.Equal(0x100000u, setup.Entry);
        Assert.Equal((uint)(Mem - 8192), setup.InitrdAddress);
        Assert.Equal(8192u, setup.InitrdSize);
        Assert.Equal(5200UL, setup.Initrd!.Value.FileSize);
        Assert.Equal((uint)(Mem - 8192 - 4096), setup.PageDirectory);
        Assert.True(LoaderFixtures.NothingAboveRam(memory, Mem), "loader wrote into the device pages");
        Assert.Equal(
            ["boot_params", $"kernel {LoaderFixtures.ElfPath} segment 0", $"kernel {LoaderFixtures.ElfPath} segment 1", $"initrd {LoaderFixtures.InitrdPath}", "page tables", "command line"],
            setup.Regions.Select(r => r.Name));
    }

    [Fact]
    public void BootLoader_FromParsedCommandLine()
    {
        var cl = LauncherCommandLine.Parse(["--initrd", LoaderFixtures.InitrdPath, "37", LoaderFixtures.BzImagePath, "quiet"]);
        var memory = new ManagedGuestMemory(cl.MemoryCapacity, cl.MemorySize);
        BootSetup setup = BootLoader.Load(memory, cl);
        Assert.Equal(KernelFormat.BzImage, setup.Kernel.Format);
        Assert.Equal(37 * LoaderFixtures.MiB, setup.MemorySize);
        Assert.Equal("quiet", setup.CommandLine);
        Assert.Equal((uint)(37 * LoaderFixtures.MiB) - 8192 - 4096, setup.PageDirectory);
        Assert.Equal(10u, setup.PageTables.PtePages);
    }

    [Fact]
    public void Builder_MisuseIsAnInvalidOperation()
    {
        var builder = LoaderFixtures.Builder(64);
        Assert.Throws<InvalidOperationException>(() => builder.Finish([]));
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        Assert.Throws<InvalidOperationException>(() => LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf()));
        builder.Finish([]);
        Assert.Throws<InvalidOperationException>(() => builder.LoadInitrd(new MemoryStream(new byte[1]), "x"));
    }
}
