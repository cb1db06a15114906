using System.Buffers.Binary;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Memory;

namespace LguestSim.Tests.Property.Loader;

/// <summary>The committed kernel fixtures, byte patching helpers and temp files for loader tests.</summary>
internal static class LoaderFixtures
{
    public const ulong MiB = 1048576;

    /// <summary>fixtures/vmlinux.elf: program header table at 52, two PT_LOADs.</summary>
    public const int ElfProgramHeaderOffset = 52;

    /// <summary>Where the ELF fixture's data+bss segment ends (paddr 0x200000 + memsz 0x3000).</summary>
    public const ulong ElfKernelEnd = 0x203000;

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string KernelsDir => Path.Combine(RepoRoot, "fixtures", "kernels");

    public static string ElfPath => Path.Combine(KernelsDir, "vmlinux.elf");

    public static string BzImagePath => Path.Combine(KernelsDir, "bzImage.bin");

    public static string InitrdPath => Path.Combine(KernelsDir, "initrd.img");

    public static byte[] Elf() => File.ReadAllBytes(ElfPath);

    public static byte[] BzImage() => File.ReadAllBytes(BzImagePath);

    /// <summary>Zeroed guest memory for <paramref name="memorySize"/> bytes of RAM, limit = mem.</summary>
    public static ManagedGuestMemory Memory(ulong memorySize) => new(DevicePage.CapacityFor(memorySize), memorySize);

    /// <summary>A builder over fresh memory of <paramref name="mib"/> MiB.</summary>
    public static BootImageBuilder Builder(uint mib) => new(Memory(mib * MiB), mib * MiB);

    /// <summary>True when <c>[address, address + length)</c> is all zero (trivially for length 0).</summary>
    public static bool AllZero(GuestMemory memory, ulong address, ulong length) =>
        length == 0 || memory.GetSpan(address, length).IndexOfAnyExcept((byte)0) < 0;

    /// <summary>True when nothing above RAM (the device pages) was written; opens the limit to look.</summary>
    public static bool NothingAboveRam(GuestMemory memory, ulong memorySize)
    {
        memory.GrowLimit(memory.Capacity);
        return AllZero(memory, memorySize, memory.Capacity - memorySize);
    }

    /// <summary>Offset of program header <paramref name="index"/> in the ELF fixture.</summary>
    public static int Phdr(int index) => ElfProgramHeaderOffset + (index * Elf32ProgramHeader.Size);

    public static byte[] PatchU8(byte[] image, int offset, byte value)
    {
        byte[] copy = (byte[])image.Clone();
        copy[offset] = value;
        return copy;
    }

    public static byte[] PatchU16(byte[] image, int offset, ushort value)
    {
        byte[] copy = (byte[])image.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    public static byte[] PatchU32(byte[] image, int offset, uint value)
    {
        byte[] copy = (byte[])image.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    /// <summary>Loads <paramref name="image"/> as a kernel named <paramref name="name"/>.</summary>
    public static LoadedKernel LoadKernel(BootImageBuilder builder, byte[] image, string name = "vmlinux") =>
        builder.LoadKernel(new MemoryStream(image, writable: false), name);

    /// <summary>Deterministic initrd contents of <paramref name="size"/> bytes (no zero bytes).</summary>
    public static byte[] InitrdBytes(int size, int seed = 1)
    {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++)
        {
            bytes[i] = (byte)(1 + ((i * 31 + seed) % 255));
        }

        return bytes;
    }

    private static string FindRepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "LguestSim.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("cannot find LguestSim.sln above the test binaries");
    }
}

/// <summary>A temporary file deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(ReadOnlySpan<byte> contents, string name = "image")
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("lguestsim-loader-").FullName;
        Path = System.IO.Path.Combine(Directory, name);
        File.WriteAllBytes(Path, contents.ToArray());
    }

    public string Directory { get; }

    public string Path { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>
/// Guest memory of a real capacity that backs only one window; any access outside it throws,
/// so a test both avoids allocating a whole large guest and proves nothing else was touched.
/// </summary>
internal sealed class WindowGuestMemory : GuestMemory
{
    private readonly byte[] _window;

    public WindowGuestMemory(ulong capacity, ulong limit, ulong windowStart, ulong windowLength)
        : base(capacity, limit)
    {
        WindowStart = windowStart;
        _window = new byte[windowLength];
    }

    public ulong WindowStart { get; }

    public ReadOnlySpan<byte> Window => _window;

    protected override Span<byte> GetSpanCore(int offset, int length)
    {
        ulong start = (ulong)offset;
        if (start < WindowStart || start + (ulong)length > WindowStart + (ulong)_window.Length)
        {
            throw new InvalidOperationException(
                $"access [0x{start:x}, 0x{start + (ulong)length:x}) outside the window [0x{WindowStart:x}, 0x{WindowStart + (ulong)_window.Length:x})");
        }

        return _window.AsSpan((int)(start - WindowStart), length);
    }
}
