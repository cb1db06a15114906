using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using LguestSim.Host.Fuse;

namespace LguestSim.Emulator.Fuse;

/// <summary>
/// A FUSE filesystem of one file: the root directory (inode 1) holding one regular file
/// (inode 2) whose opens, reads and writes go to an <see cref="IEmulatedFile"/>.
/// </summary>
/// <remarks>
/// <para>
/// One thread (the caller of <see cref="Serve"/>) reads requests. Everything that is not a
/// read or write of the file is answered on that thread at once; reads and writes are handed
/// to the file, which may answer them later from other threads, so a blocked run or a held
/// break never stops the server.
/// </para>
/// <para>
/// The file is opened with <c>FOPEN_DIRECT_IO</c> (the pread/pwrite offset, the vcpu id,
/// reaches the server unchanged) and <c>FOPEN_PARALLEL_DIRECT_WRITES</c> (a held write does
/// not lock out the write that would release it).
/// </para>
/// </remarks>
public sealed class OneFileFileSystem : IFuseReplies
{
    private const ulong RootNode = 1;
    private const ulong FileNode = 2;
    private const uint DirectoryMode = 0x4000 | 0x1ed; // S_IFDIR | 0755
    private const uint FileMode = 0x8000 | 0x1b6; // S_IFREG | 0666
    private const int ENOENT = 2;
    private const int EIO = 5;
    private const int EISDIR = 21;
    private const int EINVAL = 22;
    private const int ENOSYS = 38;
    private const int EPROTO = 71;

    private readonly FuseDevice _device;
    private readonly IEmulatedFile _file;
    private readonly byte[] _name;
    private readonly ConcurrentDictionary<ulong, FuseCall> _pending = new();

    /// <summary>Serves <paramref name="file"/> as <paramref name="fileName"/> over <paramref name="device"/>.</summary>
    public OneFileFileSystem(FuseDevice device, string fileName, IEmulatedFile file)
    {
        _device = device;
        _file = file;
        _name = Encoding.UTF8.GetBytes(fileName);
    }

    /// <summary>Called with a line for each request that is not understood (for a log), or null.</summary>
    public Action<string>? Warn { get; init; }

    /// <summary>Serves requests until the filesystem is unmounted or the connection aborted.</summary>
    /// <exception cref="Engine.LguestHostException">Reading /dev/fuse failed.</exception>
    public void Serve()
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(FuseLayout.RequestBufferSize);
        while (true)
        {
            int length = _device.Read(buffer);
            if (length == 0)
            {
                return;
            }

            if (length < FuseInHeader.Size)
            {
                Warn?.Invoke($"fuse: short request ({length} bytes) ignored");
                continue;
            }

            ReadOnlySpan<byte> request = buffer.AsSpan(0, length);
            Dispatch(FuseInHeader.Read(request), request[FuseInHeader.Size..]);
        }
    }

    /// <inheritdoc/>
    void IFuseReplies.Send(FuseCall call, ReadOnlySpan<byte> reply)
    {
        _pending.TryRemove(call.Unique, out _);

        // ENOENT: the kernel gave up on the request (its caller was killed); nothing waits.
        _device.Write(reply);
    }

    private void Dispatch(FuseInHeader h, ReadOnlySpan<byte> body)
    {
        switch (h.Opcode)
        {
            case FuseOpcode.Init:
                Init(h, body);
                break;
            case FuseOpcode.Lookup:
                Lookup(h, body);
                break;
            case FuseOpcode.GetAttr:
                GetAttr(h);
                break;
            case FuseOpcode.Open:
                Open(h);
                break;
            case FuseOpcode.Read when body.Length >= 24:
                {
                    FuseCall call = Register(h);
                    _file.Read(call, BinaryPrimitives.ReadUInt64LittleEndian(body[0..8]), BinaryPrimitives.ReadUInt64LittleEndian(body[8..16]), BinaryPrimitives.ReadUInt32LittleEndian(body[16..20]));
                    break;
                }

            case FuseOpcode.Write when body.Length >= FuseLayout.WriteInSize:
                {
                    uint size = BinaryPrimitives.ReadUInt32LittleEndian(body[16..20]);
                    ReadOnlySpan<byte> data = body[FuseLayout.WriteInSize..];
                    if (size > data.Length)
                    {
                        Reply(h.Unique, -EPROTO, []);
                        break;
                    }

                    FuseCall call = Register(h);
                    _file.Write(call, BinaryPrimitives.ReadUInt64LittleEndian(body[0..8]), BinaryPrimitives.ReadUInt64LittleEndian(body[8..16]), data[..(int)size]);
                    break;
                }

            case FuseOpcode.Interrupt when body.Length >= 8:
                // No reply: the interrupted call answers (EINTR) if it was still waiting. One
                // already answered, or never seen, needs nothing.
                if (_pending.TryGetValue(BinaryPrimitives.ReadUInt64LittleEndian(body[0..8]), out FuseCall? interrupted))
                {
                    interrupted.Interrupt();
                }

                break;
            case FuseOpcode.Release:
                if (h.NodeId == FileNode && body.Length >= 8)
                {
                    _file.Release(BinaryPrimitives.ReadUInt64LittleEndian(body[0..8]));
                }

                Reply(h.Unique, 0, []);
                break;
            case FuseOpcode.Flush:
            case FuseOpcode.Access:
            case FuseOpcode.Destroy:
            case FuseOpcode.ReleaseDir:
                Reply(h.Unique, 0, []);
                break;
            case FuseOpcode.OpenDir:
                OpenDir(h);
                break;
            case FuseOpcode.ReadDir when body.Length >= 24:
                ReadDir(h, BinaryPrimitives.ReadUInt64LittleEndian(body[8..16]), BinaryPrimitives.ReadUInt32LittleEndian(body[16..20]));
                break;
            case FuseOpcode.Forget:
            case FuseOpcode.BatchForget:
                break; // never answered
            case FuseOpcode.Read:
            case FuseOpcode.Write:
            case FuseOpcode.Interrupt:
            case FuseOpcode.ReadDir:
                Warn?.Invoke($"fuse: {h.Opcode} request too short ({body.Length} bytes)");
                Reply(h.Unique, -EIO, []);
                break;
            default:
                Reply(h.Unique, -ENOSYS, []);
                break;
        }
    }

    private FuseCall Register(FuseInHeader h)
    {
        var call = new FuseCall(this, h.Unique, h.CallerThreadId);
        _pending[h.Unique] = call;
        return call;
    }

    /// <summary>Answers FUSE_INIT: protocol 7.min(kernel's, 38), asynchronous reads, big writes.</summary>
    private void Init(FuseInHeader h, ReadOnlySpan<byte> body)
    {
        if (body.Length < 16)
        {
            Reply(h.Unique, -EINVAL, []);
            return;
        }

        uint major = BinaryPrimitives.ReadUInt32LittleEndian(body[0..4]);
        uint minor = BinaryPrimitives.ReadUInt32LittleEndian(body[4..8]);
        uint readahead = BinaryPrimitives.ReadUInt32LittleEndian(body[8..12]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(body[12..16]);
        Span<byte> o = stackalloc byte[FuseLayout.InitOutSize];
        o.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(o[0..4], FuseLayout.Major);
        if (major != FuseLayout.Major)
        {
            // A newer major: answering ours alone asks the kernel to offer it (fuse.h).
            Reply(h.Unique, 0, o[..8]);
            return;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(o[4..8], Math.Min(minor, FuseLayout.MaxMinor));
        BinaryPrimitives.WriteUInt32LittleEndian(o[8..12], readahead);
        BinaryPrimitives.WriteUInt32LittleEndian(o[12..16], flags & (FuseLayout.AsyncRead | FuseLayout.BigWrites));
        BinaryPrimitives.WriteUInt16LittleEndian(o[16..18], 16); // max_background
        BinaryPrimitives.WriteUInt16LittleEndian(o[18..20], 12); // congestion_threshold
        BinaryPrimitives.WriteUInt32LittleEndian(o[20..24], FuseLayout.MaxWrite);
        BinaryPrimitives.WriteUInt32LittleEndian(o[24..28], 1); // time_gran: 1 ns
        Reply(h.Unique, 0, o);
    }

    private void Lookup(FuseInHeader h, ReadOnlySpan<byte> body)
    {
        int nul = body.IndexOf((byte)0);
        ReadOnlySpan<byte> name = nul < 0 ? body : body[..nul];
        if (h.NodeId != RootNode || !name.SequenceEqual(_name))
        {
            Reply(h.Unique, -ENOENT, []);
            return;
        }

        Span<byte> o = stackalloc byte[FuseLayout.EntryOutSize];
        o.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(o[0..8], FileNode);
        BinaryPrimitives.WriteUInt64LittleEndian(o[16..24], 1); // entry_valid: 1 s
        BinaryPrimitives.WriteUInt64LittleEndian(o[24..32], 1); // attr_valid: 1 s
        FuseLayout.WriteAttr(o[40..], FileNode, FileMode, 1);
        Reply(h.Unique, 0, o);
    }

    private void GetAttr(FuseInHeader h)
    {
        if (h.NodeId is not (RootNode or FileNode))
        {
            Reply(h.Unique, -ENOENT, []);
            return;
        }

        Span<byte> o = stackalloc byte[FuseLayout.AttrOutSize];
        o.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(o[0..8], 1); // attr_valid: 1 s
        if (h.NodeId == RootNode)
        {
            FuseLayout.WriteAttr(o[16..], RootNode, DirectoryMode, 2);
        }
        else
        {
            FuseLayout.WriteAttr(o[16..], FileNode, FileMode, 1);
        }

        Reply(h.Unique, 0, o);
    }

    private void Open(FuseInHeader h)
    {
        if (h.NodeId != FileNode)
        {
            Reply(h.Unique, h.NodeId == RootNode ? -EISDIR : -ENOENT, []);
            return;
        }

        Span<byte> o = stackalloc byte[FuseLayout.OpenOutSize];
        o.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(o[0..8], _file.Open());
        BinaryPrimitives.WriteUInt32LittleEndian(o[8..12], FuseLayout.OpenDirectIo | FuseLayout.OpenParallelDirectWrites);
        Reply(h.Unique, 0, o);
    }

    private void OpenDir(FuseInHeader h)
    {
        if (h.NodeId != RootNode)
        {
            Reply(h.Unique, -ENOENT, []);
            return;
        }

        Span<byte> o = stackalloc byte[FuseLayout.OpenOutSize];
        o.Clear();
        Reply(h.Unique, 0, o);
    }

    /// <summary>Lists <c>.</c>, <c>..</c> and the file as <c>struct fuse_dirent</c>s, from entry <paramref name="offset"/> on.</summary>
    private void ReadDir(FuseInHeader h, ulong offset, uint size)
    {
        Span<byte> o = stackalloc byte[256];
        int used = 0;
        ReadOnlySpan<byte> dot = "."u8;
        ReadOnlySpan<byte> dotdot = ".."u8;
        for (ulong i = offset; i < 3; i++)
        {
            ReadOnlySpan<byte> name = i switch { 0 => dot, 1 => dotdot, _ => _name };
            int entry = (24 + name.Length + 7) & ~7;
            if (used + entry > Math.Min(size, (uint)o.Length))
            {
                break;
            }

            Span<byte> d = o.Slice(used, entry);
            d.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(d[0..8], i == 2 ? FileNode : RootNode);
            BinaryPrimitives.WriteUInt64LittleEndian(d[8..16], i + 1); // the offset of the next entry
            BinaryPrimitives.WriteUInt32LittleEndian(d[16..20], (uint)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(d[20..24], i == 2 ? 8u : 4u); // DT_REG, DT_DIR
            name.CopyTo(d[24..]);
            used += entry;
        }

        Reply(h.Unique, 0, o[..used]);
    }

    private void Reply(ulong unique, int error, ReadOnlySpan<byte> payload)
    {
        Span<byte> reply = stackalloc byte[FuseLayout.OutHeaderSize + 256];
        int length = FuseLayout.OutHeaderSize + payload.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(reply[0..4], (uint)length);
        BinaryPrimitives.WriteInt32LittleEndian(reply[4..8], error);
        BinaryPrimitives.WriteUInt64LittleEndian(reply[8..16], unique);
        payload.CopyTo(reply[16..]);
        _device.Write(reply[..length]);
    }
}
