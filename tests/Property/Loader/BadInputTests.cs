using LguestSim.Engine;
using LguestSim.Engine.Loader;
using Xunit;

namespace LguestSim.Tests.Property.Loader;

/// <summary>
/// One test per bad input: each is a single-line <see cref="LauncherException"/> naming the
/// file (the CLI prints it and exits 1), and nothing is written outside guest RAM. The bad
/// images are the committed fixtures with one field patched.
/// </summary>
/// <remarks>
/// Messages are checked for being one line and naming the file, plus the field or value that
/// makes them "clear"; the exact wording is free to change.
/// </remarks>
public sealed class BadInputTests
{
    private static readonly int PhnumOffset = Elf32Header.ProgramHeaderCountOffset;

    [Fact]
    public void EmptyFile() =>
        AssertBadKernel([], "got 0 of 52 bytes");

    [Fact]
    public void TruncatedElfHeader() =>
        AssertBadKernel(LoaderFixtures.Elf()[..40], "got 40 of 52 bytes");

    [Fact]
    public void WrongClass_Elfclass64() =>
        AssertBadKernel(LoaderFixtures.PatchU8(LoaderFixtures.Elf(), Elf32Header.ClassOffset, 2), "EI_CLASS 2, expected 1");

    [Fact]
    public void WrongByteOrder_BigEndian() =>
        AssertBadKernel(LoaderFixtures.PatchU8(LoaderFixtures.Elf(), Elf32Header.DataOffset, 2), "EI_DATA 2, expected 1");

    [Fact]
    public void WrongMachine_X86_64() =>
        AssertBadKernel(LoaderFixtures.PatchU16(LoaderFixtures.Elf(), Elf32Header.MachineOffset, 62), "e_machine 62, expected 3");

    [Fact]
    public void WrongType_Relocatable() =>
        AssertBadKernel(LoaderFixtures.PatchU16(LoaderFixtures.Elf(), Elf32Header.TypeOffset, 1), "e_type 1, expected 2");

    [Fact]
    public void PhentsizeNot32() =>
        AssertBadKernel(LoaderFixtures.PatchU16(LoaderFixtures.Elf(), Elf32Header.ProgramHeaderEntrySizeOffset, 56), "e_phentsize 56, expected 32");

    [Fact]
    public void PhnumZero() =>
        AssertBadKernel(LoaderFixtures.PatchU16(LoaderFixtures.Elf(), PhnumOffset, 0), "e_phnum 0, expected 1..2048");

    [Fact]
    public void PhnumOver2048() =>
        AssertBadKernel(LoaderFixtures.PatchU16(LoaderFixtures.Elf(), PhnumOffset, 2049), "e_phnum 2049, expected 1..2048");

    [Fact]
    public void PhnumAt2048_IsAcceptedByTheHeaderCheck_ButThenPastEnd() =>
        AssertBadKernel(LoaderFixtures.PatchU16(LoaderFixtures.Elf(), PhnumOffset, 2048), "program headers [0x34, 0x10034) are past the end of the file");

    [Fact]
    public void ProgramHeadersPastEndOfFile()
    {
        byte[] elf = LoaderFixtures.Elf();
        AssertBadKernel(LoaderFixtures.PatchU32(elf, Elf32Header.ProgramHeaderOffsetOffset, (uint)elf.Length - 16), "are past the end of the file");
    }

    [Fact]
    public void ProgramHeaderOffsetHuge() =>
        AssertBadKernel(LoaderFixtures.PatchU32(LoaderFixtures.Elf(), Elf32Header.ProgramHeaderOffsetOffset, 0xFFFFFFF0), "program headers [0xfffffff0, 0x100000030) are past the end");

    [Fact]
    public void SegmentFileBytesPastEndOfFile() =>
        AssertBadKernel(LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(1) + Elf32ProgramHeader.FileSizeOffset, 0x10000), "segment 1 file bytes [0x1000, 0x11000) are past the end of the file");

    [Fact]
    public void SegmentBeyondMemory()
    {
        // Data segment moved to the last page of a 64 MiB guest: its BSS runs 8 KiB past RAM.
        byte[] elf = LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(1) + Elf32ProgramHeader.PhysicalAddressOffset, 0x3FFF000);
        AssertBadKernel(elf, "segment 1 [0x3fff000, 0x4002000) does not fit in guest memory [0, 0x4000000)");
    }

    [Fact]
    public void SegmentFarBeyondMemory_32BitWrapWouldHideIt()
    {
        // p_paddr + p_memsz wraps to a small number in 32-bit arithmetic.
        byte[] elf = LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(1) + Elf32ProgramHeader.PhysicalAddressOffset, 0xFFFFF000);
        AssertBadKernel(elf, "segment 1 [0xfffff000, 0x100002000) does not fit");
    }

    [Fact]
    public void SegmentOverBootParams()
    {
        byte[] elf = LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(0) + Elf32ProgramHeader.PhysicalAddressOffset, 0);
        AssertBadKernel(elf, "segment 0 [0x0, 0x14) overlaps boot_params [0x0, 0x1000)");
    }

    [Fact]
    public void SegmentsOverlapEachOther()
    {
        byte[] elf = LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(1) + Elf32ProgramHeader.PhysicalAddressOffset, 0x100010);
        AssertBadKernel(elf, "segment 1 [0x100010, 0x103010) overlaps kernel vmlinux segment 0 [0x100000, 0x100014)");
    }

    [Fact]
    public void NoLoadableSegment()
    {
        byte[] elf = LoaderFixtures.PatchU32(LoaderFixtures.Elf(), LoaderFixtures.Phdr(0), 4);
        elf = LoaderFixtures.PatchU32(elf, LoaderFixtures.Phdr(1), 4);
        AssertBadKernel(elf, "no PT_LOAD segment");
    }

    [Fact]
    public void NeitherElfNorHdrS()
    {
        byte[] text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("this is not a kernel\n", 200)));
        AssertBadKernel(text, "neither an ELF file nor a bzImage (no \"HdrS\" at 0x202)");
    }

    [Fact]
    public void BzImageTooShortForItsSetupSectors() =>
        AssertBadKernel(LoaderFixtures.PatchU8(LoaderFixtures.BzImage(), 0x1F1, 200), "bzImage payload offset 0x19200 (setup_sects 200) is at or past the end of the file");

    [Fact]
    public void BzImagePayloadBeyondMemory()
    {
        // A 1 MiB guest has no room at all above 0x100000.
        var builder = LoaderFixtures.Builder(1);
        var ex = Assert.Throws<LauncherException>(() => LoaderFixtures.LoadKernel(builder, LoaderFixtures.BzImage(), "bzImage"));
        AssertOneLine(ex, "kernel bzImage payload [0x100000, 0x100040) does not fit in guest memory [0, 0x100000)");
    }

    [Fact]
    public void InitrdLargerThanMemory()
    {
        var builder = LoaderFixtures.Builder(4);
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        var ex = Assert.Throws<LauncherException>(() => builder.LoadInitrd(new MemoryStream(new byte[(4 * LoaderFixtures.MiB) + 1]), "big.img"));
        AssertOneLine(ex, "initrd big.img: 0x400001 bytes do not fit in guest memory (0x400000 bytes)");
        Assert.True(LoaderFixtures.NothingAboveRam(builder.Memory, 4 * LoaderFixtures.MiB));
    }

    [Fact]
    public void InitrdOverKernel()
    {
        // 3 MiB guest, 1 MiB initrd: it would start at 0x200000, on the kernel's data segment.
        var builder = LoaderFixtures.Builder(3);
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        var ex = Assert.Throws<LauncherException>(() => builder.LoadInitrd(new MemoryStream(new byte[LoaderFixtures.MiB]), "initrd.img"));
        AssertOneLine(ex, "initrd initrd.img [0x200000, 0x300000) overlaps kernel vmlinux segment 1 [0x200000, 0x203000)");
    }

    [Fact]
    public void PageTablesOverKernel()
    {
        // The initrd just fits above the kernel; the tables under it do not.
        var builder = LoaderFixtures.Builder(4);
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        builder.LoadInitrd(new MemoryStream(new byte[(4 * LoaderFixtures.MiB) - LoaderFixtures.ElfKernelEnd]), "initrd.img");
        var ex = Assert.Throws<LauncherException>(() => builder.Finish([]));
        AssertOneLine(ex, "page tables [0x201000, 0x203000) overlaps kernel vmlinux segment 1 [0x200000, 0x203000)");
    }

    [Fact]
    public void PageTablesBelowZero()
    {
        // A kernel-less plan: all of RAM given to the initrd leaves no room for the tables.
        var ex = Assert.Throws<LauncherException>(() => IdentityPageTables.Plan(LoaderFixtures.MiB, LoaderFixtures.MiB));
        AssertOneLine(ex, "page tables: 2 pages (0x2000 bytes) do not fit");
    }

    [Fact]
    public void CommandLineOverKernel()
    {
        var builder = LoaderFixtures.Builder(64);
        LoaderFixtures.LoadKernel(builder, LoaderFixtures.Elf());
        var ex = Assert.Throws<LauncherException>(() => builder.Finish([new string('x', 0x100000)]));
        AssertOneLine(ex, "command line [0x1000, 0x101001) overlaps kernel vmlinux segment 0 [0x100000, 0x100014)");
    }

    [Fact]
    public void CommandLineBeyondMemory()
    {
        // No kernel below 1 MiB to hit first: a bzImage-less 1 MiB guest with a 1 MiB command line.
        var builder = LoaderFixtures.Builder(1);
        var ex = Assert.Throws<LauncherException>(() =>
        {
            builder.LoadKernel(new MemoryStream(MinimalElfAt(0x80000)), "tiny");
            builder.Finish([new string('y', (int)LoaderFixtures.MiB)]);
        });
        AssertOneLine(ex, "command line [0x1000, 0x101001) does not fit in guest memory [0, 0x100000)");
    }

    [Fact]
    public void MissingKernelFile()
    {
        using var dir = new TempFile([]);
        string path = Path.Combine(dir.Directory, "no-such-vmlinux");
        var memory = LoaderFixtures.Memory(64 * LoaderFixtures.MiB);
        var ex = Assert.Throws<LauncherException>(() => BootLoader.Load(memory, 64 * LoaderFixtures.MiB, path, null, []));
        AssertOneLine(ex, $"kernel {path}: cannot open: No such file or directory");
    }

    [Fact]
    public void MissingInitrdFile()
    {
        var memory = LoaderFixtures.Memory(64 * LoaderFixtures.MiB);
        var ex = Assert.Throws<LauncherException>(() => BootLoader.Load(memory, 64 * LoaderFixtures.MiB, LoaderFixtures.ElfPath, "/nonexistent/initrd.img", []));
        AssertOneLine(ex, "initrd /nonexistent/initrd.img: cannot open: No such file or directory");
    }

    [Fact]
    public void KernelIsADirectory()
    {
        using var dir = new TempFile([]);
        var memory = LoaderFixtures.Memory(64 * LoaderFixtures.MiB);
        var ex = Assert.Throws<LauncherException>(() => BootLoader.Load(memory, 64 * LoaderFixtures.MiB, dir.Directory, null, []));
        AssertOneLine(ex, $"kernel {dir.Directory}: cannot open:");
    }

    [Fact]
    public void BadKernelFromFile_NamesTheFileAsGiven()
    {
        using var file = new TempFile(LoaderFixtures.PatchU16(LoaderFixtures.Elf(), Elf32Header.MachineOffset, 62), "vmlinux");
        var memory = LoaderFixtures.Memory(64 * LoaderFixtures.MiB);
        var ex = Assert.Throws<LauncherException>(() => BootLoader.Load(memory, 64 * LoaderFixtures.MiB, file.Path, null, []));
        AssertOneLine(ex, $"kernel {file.Path}: malformed ELF header (e_machine 62, expected 3)");
    }

    [Fact]
    public void ControlCharactersInNames_StayOnOneLine()
    {
        var memory = LoaderFixtures.Memory(64 * LoaderFixtures.MiB);
        var ex = Assert.Throws<LauncherException>(() => BootLoader.Load(memory, 64 * LoaderFixtures.MiB, "/nonexistent/a\nb", null, []));
        AssertOneLine(ex, "kernel /nonexistent/a\\nb: cannot open");
    }

    [Theory]
    [InlineData("0", "memory size 0 MiB is too small")]
    [InlineData("abc", "memory size 'abc' is not a whole number of MiB")]
    [InlineData("64M", "memory size '64M' is not a whole number of MiB")]
    [InlineData("", "memory size '' is not a whole number of MiB")]
    [InlineData("2047", "memory size 2047 MiB is too large: at most 2046 MiB")]
    [InlineData("4096", "memory size 4096 MiB is too large")]
    [InlineData("99999999999999999999999", "memory size 99999999999999999999999 MiB is too large")]
    public void BadMemorySize(string word, string expected)
    {
        var ex = Assert.Throws<LauncherException>(() => LauncherCommandLine.Parse([word, "vmlinux"]));
        AssertOneLine(ex, expected);
    }

    private static void AssertBadKernel(byte[] image, string expected)
    {
        var builder = LoaderFixtures.Builder(64);
        var ex = Assert.Throws<LauncherException>(() => LoaderFixtures.LoadKernel(builder, image));
        AssertOneLine(ex, "kernel vmlinux");
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);

        // Everything is checked before anything is copied.
        Assert.True(LoaderFixtures.AllZero(builder.Memory, 0, 64 * LoaderFixtures.MiB), "a refused kernel wrote to guest memory");
        Assert.True(LoaderFixtures.NothingAboveRam(builder.Memory, 64 * LoaderFixtures.MiB));
    }

    private static void AssertOneLine(LauncherException ex, string expected)
    {
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A hand-built minimal ELF: one PT_LOAD of 16 bytes at <paramref name="paddr"/>.</summary>
    private static byte[] MinimalElfAt(uint paddr)
    {
        byte[] elf = new byte[52 + 32 + 16];
        elf[0] = 0x7F; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
        elf[4] = 1; elf[5] = 1; elf[6] = 1;
        elf = LoaderFixtures.PatchU16(elf, Elf32Header.TypeOffset, 2);
        elf = LoaderFixtures.PatchU16(elf, Elf32Header.MachineOffset, 3);
        elf = LoaderFixtures.PatchU32(elf, Elf32Header.EntryOffset, paddr);
        elf = LoaderFixtures.PatchU32(elf, Elf32Header.ProgramHeaderOffsetOffset, 52);
        elf = LoaderFixtures.PatchU16(elf, Elf32Header.ProgramHeaderEntrySizeOffset, 32);
        elf = LoaderFixtures.PatchU16(elf, Elf32Header.ProgramHeaderCountOffset, 1);
        elf = LoaderFixtures.PatchU32(elf, 52, 1);
        elf = LoaderFixtures.PatchU32(elf, 52 + 4, 84);
        elf = LoaderFixtures.PatchU32(elf, 52 + Elf32ProgramHeader.PhysicalAddressOffset, paddr);
        elf = LoaderFixtures.PatchU32(elf, 52 + Elf32ProgramHeader.FileSizeOffset, 16);
        elf = LoaderFixtures.PatchU32(elf, 52 + Elf32ProgramHeader.MemorySizeOffset, 16);
        return elf;
    }
}
