using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// An open of the emulated /dev/lguest used as a Launcher uses it: pread and pwrite at an
/// explicit offset (the vcpu id), the errno of each call returned as it is, without the
/// EINTR retry .NET's own file calls add.
/// </summary>
public sealed partial class LgFile : IDisposable
{
    public const int ENOENT = 2;
    public const int EAGAIN = 11;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int EPERM = 1;
    public const int ERESTART = 85;

    private const int O_RDWR = 2;
    private const int O_CLOEXEC = 0x80000;
    private int _fd;

    public LgFile(string path)
    {
        _fd = Open(path, O_RDWR | O_CLOEXEC);
        if (_fd < 0)
        {
            throw new IOException($"open {path}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Writes <paramref name="words"/> (4-byte little-endian) at <paramref name="offset"/>.</summary>
    /// <returns>write's result, or minus the errno.</returns>
    public long Write(long offset, params uint[] words)
    {
        byte[] buffer = new byte[words.Length * 4];
        for (int i = 0; i < words.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(i * 4), words[i]);
        }

        nint r = PWrite(_fd, buffer, (nuint)buffer.Length, offset);
        return r < 0 ? -Marshal.GetLastPInvokeError() : r;
    }

    /// <summary>Reads up to <paramref name="size"/> bytes at <paramref name="offset"/>.</summary>
    /// <returns>read's result (or minus the errno), and the bytes read.</returns>
    public (long Result, byte[] Data) Read(int size, long offset = 0)
    {
        byte[] buffer = new byte[size];
        nint r = PRead(_fd, buffer, (nuint)size, offset);
        return r < 0 ? (-Marshal.GetLastPInvokeError(), []) : (r, buffer[..(int)r]);
    }

    /// <summary>LHREQ_INITIALIZE with the probe guest's meaning of the words: start is notified first (0: none).</summary>
    public long Initialize(uint pgdir = 0x2000, uint start = 0) => Write(0, 0, 0x10000, 0x4000, pgdir, start);

    /// <summary>A run: the notify address, or minus the errno.</summary>
    public long Run()
    {
        (long r, byte[] data) = Read(4);
        return r == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(data) : r;
    }

    /// <summary>LHREQ_IRQ.</summary>
    public long Irq(uint irq) => Write(0, 2, irq);

    /// <summary>LHREQ_BREAK.</summary>
    public long Break(uint on) => Write(0, 3, on);

    public void Dispose()
    {
        if (_fd >= 0)
        {
            Close(_fd);
            _fd = -1;
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static extern nint PRead(int fd, byte[] buffer, nuint count, long offset);

    [DllImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static extern nint PWrite(int fd, byte[] buffer, nuint count, long offset);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
