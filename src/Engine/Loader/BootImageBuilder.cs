using System.Text;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Loader;

/// <summary>
/// Fills guest RAM for boot, step by step in the original's order: kernel, initrd, page
/// tables, boot_params and command line. Every range is checked before a byte is written.
/// </summary>
/// <remarks>
/// <para>
/// lguest.c <c>main()</c> steps after the devices are set up (spec §7.8 step 7):
/// <c>load_kernel()</c>, <c>load_initrd()</c>, <c>setup_pagetables()</c>, then the
/// boot_params fields and the command line at 0x1000.
/// </para>
/// <para>
/// The original trusted its input: an ELF segment, a bzImage payload, an initrd, the page
/// tables and the command line could all land past the end of RAM (into the device pages,
/// or past the mapping altogether), and a big initrd could silently overwrite the kernel.
/// Here each one is a named <see cref="GuestRegion"/> that must lie inside <c>[0, mem)</c>
/// and must not share a byte with anything placed before it, or the load stops with a
/// one-line <see cref="LauncherException"/>. The zero page is reserved first, so a segment
/// linked at address 0 is reported rather than half-overwritten by boot_params.
/// </para>
/// <para>
/// The memory is expected to be freshly zeroed (as the original's /dev/zero mapping is):
/// bytes of a segment past <c>p_filesz</c> and the initrd's tail padding are not written.
/// </para>
/// </remarks>
public sealed class BootImageBuilder
{
    private readonly List<GuestRegion> _regions = new();
    private LoadedKernel? _kernel;
    private LoadedInitrd? _initrd;
    private BootSetup? _finished;

    /// <summary>Starts a boot image in <paramref name="memory"/> for a guest of <paramref name="memorySize"/> bytes of RAM.</summary>
    /// <param name="memory">Guest memory covering at least <c>[0, memorySize)</c>; its device pages may already be allocated.</param>
    /// <param name="memorySize"><c>mem</c>: a non-zero page multiple below 4 GiB.</param>
    /// <exception cref="ArgumentException"><paramref name="memorySize"/> has the wrong shape or exceeds the memory's limit.</exception>
    public BootImageBuilder(GuestMemory memory, ulong memorySize)
    {
        if (memorySize == 0 || memorySize % LguestLayout.PageSize != 0 || memorySize > uint.MaxValue || memorySize > memory.Limit)
        {
            throw new ArgumentException("guest RAM must be a non-zero page multiple below 4 GiB and inside guest memory", nameof(memorySize));
        }

        Memory = memory;
        MemorySize = memorySize;
        Place(new GuestRegion("boot_params", 0, BootParams.Size));
    }

    /// <summary>Guest memory being filled.</summary>
    public GuestMemory Memory { get; }

    /// <summary><c>mem</c>: guest RAM size in bytes.</summary>
    public ulong MemorySize { get; }

    /// <summary>Every range placed so far, in order.</summary>
    public IReadOnlyList<GuestRegion> Regions => _regions;

    /// <summary>Loads the kernel file at <paramref name="path"/> (ELF vmlinux or bzImage).</summary>
    /// <exception cref="LauncherException">The file cannot be read, is not a loadable kernel, or does not fit.</exception>
    /// <exception cref="InvalidOperationException">A kernel was already loaded.</exception>
    /// <remarks>lguest.c <c>load_kernel()</c>.</remarks>
    public LoadedKernel LoadKernel(string path)
    {
        using ImageFile file = ImageFile.Open("kernel", path);
        return LoadKernel(file);
    }

    /// <summary>Loads a kernel from a seekable stream; <paramref name="name"/> is used in messages.</summary>
    /// <exception cref="LauncherException">The stream is not a loadable kernel or does not fit.</exception>
    /// <exception cref="InvalidOperationException">A kernel was already loaded.</exception>
    public LoadedKernel LoadKernel(Stream image, string name)
    {
        using ImageFile file = ImageFile.FromStream("kernel", name, image);
        return LoadKernel(file);
    }

    /// <summary>
    /// Loads the initrd at <paramref name="path"/> to the top of RAM: page-aligned start, end at
    /// <c>mem</c>, tail padding left zero.
    /// </summary>
    /// <exception cref="LauncherException">The file cannot be read or does not fit above the kernel.</exception>
    /// <exception cref="InvalidOperationException">Called twice, or after <see cref="Finish"/>.</exception>
    /// <remarks>lguest.c <c>load_initrd()</c>, spec §7.4.</remarks>
    public LoadedInitrd LoadInitrd(string path)
    {
        using ImageFile file = ImageFile.Open("initrd", path);
        return LoadInitrd(file);
    }

    /// <summary>Loads an initrd from a seekable stream; <paramref name="name"/> is used in messages.</summary>
    /// <exception cref="LauncherException">It does not fit above the kernel.</exception>
    /// <exception cref="InvalidOperationException">Called twice, or after <see cref="Finish"/>.</exception>
    public LoadedInitrd LoadInitrd(Stream image, string name)
    {
        using ImageFile file = ImageFile.FromStream("initrd", name, image);
        return LoadInitrd(file);
    }

    /// <summary>
    /// Builds the page tables under the initrd, fills boot_params and writes the command line:
    /// the last loading steps. <paramref name="kernelArguments"/> are joined with single spaces.
    /// </summary>
    /// <exception cref="LauncherException">The tables or the command line do not fit.</exception>
    /// <exception cref="InvalidOperationException">No kernel was loaded, or called twice.</exception>
    /// <remarks>lguest.c <c>setup_pagetables()</c> and the end of <c>main()</c>, spec §7.5–§7.7.</remarks>
    public BootSetup Finish(IEnumerable<string> kernelArguments)
    {
        if (_kernel is null)
        {
            throw new InvalidOperationException("load the kernel before finishing the boot image");
        }

        ThrowIfFinished();
        uint initrdLength = _initrd?.Length ?? 0;

        IdentityPageTables tables = IdentityPageTables.Plan(MemorySize, initrdLength);
        Place(new GuestRegion("page tables", tables.Address, tables.Length));

        string commandLine = JoinCommandLine(kernelArguments);
        byte[] commandLineBytes = EncodeCommandLine(commandLine);
        Place(new GuestRegion("command line", BootParams.CommandLineAddress, (ulong)commandLineBytes.Length));

        tables.Write(Memory);

        // Only the fields of spec §7.6; the kernel file's own setup header is not copied.
        BootParams bootParams = new(
            E820Entries: 1,
            E820Map0: new E820Entry(0, MemorySize, E820Entry.TypeRam),
            Version: BootParams.ProtocolVersion,
            TypeOfLoader: _initrd is null ? (byte)0 : (byte)0xFF,
            LoadFlags: BootParams.KeepSegments,
            RamdiskImage: _initrd?.Address ?? 0,
            RamdiskSize: initrdLength,
            CmdLinePtr: BootParams.CommandLineAddress,
            HardwareSubarch: BootParams.SubarchLguest);
        Span<byte> zeroPage = Memory.GetSpan(0, BootParams.Size);
        zeroPage.Clear();
        bootParams.Write(zeroPage);

        Memory.Write(BootParams.CommandLineAddress, commandLineBytes);

        _finished = new BootSetup(MemorySize, _kernel, _initrd, tables, bootParams, commandLine, _regions.ToArray());
        return _finished;
    }

    /// <summary>
    /// The kernel command line from the words after <c>&lt;mem&gt; &lt;vmlinux&gt;</c>: joined
    /// with single spaces, no trailing space; empty with no words.
    /// </summary>
    /// <remarks>Spec §7.7. (The 2.6.24 Launcher put a space after every word.)</remarks>
    public static string JoinCommandLine(IEnumerable<string> kernelArguments) => string.Join(' ', kernelArguments);

    /// <summary>The command line's bytes as written to the guest: UTF-8 plus the terminating NUL.</summary>
    public static byte[] EncodeCommandLine(string commandLine)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(commandLine) + 1];
        Encoding.UTF8.GetBytes(commandLine, bytes);
        return bytes;
    }

    private LoadedKernel LoadKernel(ImageFile file)
    {
        if (_kernel is not null)
        {
            throw new InvalidOperationException("a kernel is already loaded");
        }

        ThrowIfFinished();
        KernelImage image = KernelImage.Inspect(file);

        // Place (check) every segment before copying any, so a bad image writes nothing.
        foreach (ImageCopy copy in image.Copies)
        {
            Place(copy.Region);
        }

        ulong copied = 0;
        var segments = new GuestRegion[image.Copies.Count];
        for (int i = 0; i < image.Copies.Count; i++)
        {
            ImageCopy copy = image.Copies[i];
            string what = $"segment at 0x{copy.Region.Address:x}";
            file.ReadExactlyAt(copy.FileOffset, Memory.GetSpan(copy.Region.Address, copy.FileBytes), what);
            copied += copy.FileBytes;
            segments[i] = copy.Region;
        }

        _kernel = new LoadedKernel(image.Format, image.Entry, segments, copied);
        return _kernel;
    }

    private LoadedInitrd LoadInitrd(ImageFile file)
    {
        if (_initrd is not null)
        {
            throw new InvalidOperationException("an initrd is already loaded");
        }

        ThrowIfFinished();
        ulong size = (ulong)file.Length;
        if (size > MemorySize)
        {
            ThrowHelper.ThrowLauncher($"{file.Label}: 0x{size:x} bytes do not fit in guest memory (0x{MemorySize:x} bytes)");
        }

        // len = align_up(size, 4096) cannot pass mem: mem is itself a page multiple.
        ulong length = (size + LguestLayout.PageSize - 1) & ~(ulong)(LguestLayout.PageSize - 1);
        ulong address = MemorySize - length;
        Place(new GuestRegion(file.Label, address, length));

        if (size != 0)
        {
            file.ReadExactlyAt(0, Memory.GetSpan(address, size), "the initrd");
        }

        _initrd = new LoadedInitrd((uint)address, (uint)length, size);
        return _initrd.Value;
    }

    private void Place(GuestRegion region)
    {
        if (region.Address > MemorySize || region.Length > MemorySize - region.Address)
        {
            ThrowHelper.ThrowLauncher($"{region.Name} {region.RangeText} does not fit in guest memory [0, 0x{MemorySize:x})");
        }

        foreach (GuestRegion placed in _regions)
        {
            if (region.Overlaps(placed))
            {
                ThrowHelper.ThrowLauncher($"{region.Name} {region.RangeText} overlaps {placed.Name} {placed.RangeText}");
            }
        }

        _regions.Add(region);
    }

    private void ThrowIfFinished()
    {
        if (_finished is not null)
        {
            throw new InvalidOperationException("the boot image is already finished");
        }
    }
}
