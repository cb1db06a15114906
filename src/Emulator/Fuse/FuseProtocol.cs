using System.Buffers.Binary;

namespace LguestSim.Emulator.Fuse;

/// <summary>The FUSE opcodes this server knows (<c>enum fuse_opcode</c>, linux/fuse.h).</summary>
public enum FuseOpcode : uint
{
    /// <summary><c>FUSE_LOOKUP</c>.</summary>
    Lookup = 1,

    /// <summary><c>FUSE_FORGET</c> (no reply).</summary>
    Forget = 2,

    /// <summary><c>FUSE_GETATTR</c>.</summary>
    GetAttr = 3,

    /// <summary><c>FUSE_OPEN</c>.</summary>
    Open = 14,

    /// <summary><c>FUSE_READ</c>.</summary>
    Read = 15,

    /// <summary><c>FUSE_WRITE</c>.</summary>
    Write = 16,

    /// <summary><c>FUSE_RELEASE</c>.</summary>
    Release = 18,

    /// <summary><c>FUSE_FLUSH</c>.</summary>
    Flush = 25,

    /// <summary><c>FUSE_INIT</c>.</summary>
    Init = 26,

    /// <summary><c>FUSE_OPENDIR</c>.</summary>
    OpenDir = 27,

    /// <summary><c>FUSE_READDIR</c>.</summary>
    ReadDir = 28,

    /// <summary><c>FUSE_RELEASEDIR</c>.</summary>
    ReleaseDir = 29,

    /// <summary><c>FUSE_ACCESS</c>.</summary>
    Access = 34,

    /// <summary><c>FUSE_INTERRUPT</c> (no reply).</summary>
    Interrupt = 36,

    /// <summary><c>FUSE_DESTROY</c>.</summary>
    Destroy = 38,

    /// <summary><c>FUSE_BATCH_FORGET</c> (no reply).</summary>
    BatchForget = 42,
}

/// <summary>
/// <c>struct fuse_in_header</c>: the 40 bytes in front of every request.
/// </summary>
/// <param name="Length">Whole request length (<c>len</c>).</param>
/// <param name="Opcode">What is asked (<c>opcode</c>).</param>
/// <param name="Unique">The request's id, echoed in its reply (<c>unique</c>).</param>
/// <param name="NodeId">The inode it is about (<c>nodeid</c>).</param>
/// <param name="CallerThreadId">The calling thread's id (<c>pid</c>; it is the thread's, not the process's).</param>
public readonly record struct FuseInHeader(uint Length, FuseOpcode Opcode, ulong Unique, ulong NodeId, int CallerThreadId)
{
    /// <summary>Size of the header.</summary>
    public const int Size = 40;

    /// <summary>Reads the header at the start of <paramref name="request"/>.</summary>
    public static FuseInHeader Read(ReadOnlySpan<byte> request) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(request[0..4]),
        (FuseOpcode)BinaryPrimitives.ReadUInt32LittleEndian(request[4..8]),
        BinaryPrimitives.ReadUInt64LittleEndian(request[8..16]),
        BinaryPrimitives.ReadUInt64LittleEndian(request[16..24]),
        (int)BinaryPrimitives.ReadUInt32LittleEndian(request[32..36]));
}

/// <summary>Sizes, flags and layouts of the other structs of linux/fuse.h this server uses.</summary>
internal static class FuseLayout
{
    /// <summary><c>FUSE_KERNEL_VERSION</c>.</summary>
    public const uint Major = 7;

    /// <summary>The minor version answered at most (7.38 has everything used here; measured to work).</summary>
    public const uint MaxMinor = 38;

    /// <summary>Largest write accepted (<c>fuse_init_out.max_write</c>): 32 pages, the limit without <c>FUSE_MAX_PAGES</c>.</summary>
    public const uint MaxWrite = 128 * 1024;

    /// <summary>Read buffer size: the largest write plus its headers, rounded up by a page.</summary>
    public const int RequestBufferSize = (int)MaxWrite + 4096;

    /// <summary><c>struct fuse_out_header</c> size.</summary>
    public const int OutHeaderSize = 16;

    /// <summary><c>struct fuse_init_out</c> size.</summary>
    public const int InitOutSize = 64;

    /// <summary><c>struct fuse_attr</c> size.</summary>
    public const int AttrSize = 88;

    /// <summary><c>struct fuse_entry_out</c> size.</summary>
    public const int EntryOutSize = 40 + AttrSize;

    /// <summary><c>struct fuse_attr_out</c> size.</summary>
    public const int AttrOutSize = 16 + AttrSize;

    /// <summary><c>struct fuse_open_out</c> size.</summary>
    public const int OpenOutSize = 16;

    /// <summary><c>struct fuse_write_out</c> size.</summary>
    public const int WriteOutSize = 8;

    /// <summary><c>struct fuse_write_in</c> size (the data follows it).</summary>
    public const int WriteInSize = 40;

    /// <summary><c>FUSE_ASYNC_READ</c>.</summary>
    public const uint AsyncRead = 1 << 0;

    /// <summary><c>FUSE_BIG_WRITES</c>.</summary>
    public const uint BigWrites = 1 << 5;

    /// <summary><c>FOPEN_DIRECT_IO</c>: no page cache, and the pread/pwrite offset reaches the server unchanged.</summary>
    public const uint OpenDirectIo = 1 << 0;

    /// <summary>
    /// <c>FOPEN_PARALLEL_DIRECT_WRITES</c>: writes do not hold the inode lock while the server
    /// answers. Without it a held <c>LHREQ_BREAK 1</c> blocks the <c>LHREQ_BREAK 0</c> that
    /// would release it, for ever (measured, Linux ≥ 6.2).
    /// </summary>
    public const uint OpenParallelDirectWrites = 1 << 6;

    /// <summary>Writes <c>struct fuse_attr</c> for inode <paramref name="ino"/>.</summary>
    public static void WriteAttr(Span<byte> attr, ulong ino, uint mode, uint nlink)
    {
        attr[..AttrSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(attr[0..8], ino);
        BinaryPrimitives.WriteUInt32LittleEndian(attr[60..64], mode);
        BinaryPrimitives.WriteUInt32LittleEndian(attr[64..68], nlink);
        BinaryPrimitives.WriteUInt32LittleEndian(attr[80..84], 4096); // blksize
    }
}
