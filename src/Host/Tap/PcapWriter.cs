using System.Buffers.Binary;

namespace LguestSim.Host.Tap;

/// <summary>
/// Writes Ethernet frames to a classic pcap file (libpcap format 2.4, microsecond
/// timestamps, snap length 65535, link type 1 = Ethernet), which tcpdump, tshark and
/// Wireshark read.
/// </summary>
/// <remarks>
/// All fields are written little-endian; readers tell the byte order from the magic number.
/// With no clock, frame <c>n</c> (from 0) is stamped <c>n</c> milliseconds after the epoch,
/// so that a simulated run's capture is the same bytes every time; real taps use real time.
/// Each frame is flushed as it is written, so a capture cut short still holds every frame
/// that crossed before.
/// </remarks>
public sealed class PcapWriter : IDisposable
{
    /// <summary>The magic number of a microsecond-resolution capture.</summary>
    public const uint Magic = 0xa1b2c3d4;

    /// <summary>Format version 2.4.</summary>
    public const ushort VersionMajor = 2;

    /// <summary>Format version 2.4.</summary>
    public const ushort VersionMinor = 4;

    /// <summary>The largest frame part kept.</summary>
    public const uint SnapLength = 65535;

    /// <summary><c>LINKTYPE_ETHERNET</c>.</summary>
    public const uint LinkTypeEthernet = 1;

    /// <summary>Size of the file header.</summary>
    public const int FileHeaderSize = 24;

    /// <summary>Size of each record header.</summary>
    public const int RecordHeaderSize = 16;

    private readonly Stream _stream;
    private readonly TimeProvider? _clock;
    private readonly object _gate = new();
    private long _frames;

    /// <summary>Starts a capture on <paramref name="stream"/> (which it then owns).</summary>
    /// <param name="stream">Where the capture goes.</param>
    /// <param name="clock">Real time for the timestamps, or null for the synthetic 1 ms steps.</param>
    public PcapWriter(Stream stream, TimeProvider? clock)
    {
        _stream = stream;
        _clock = clock;
        Span<byte> header = stackalloc byte[FileHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], VersionMinor);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);   // thiszone: UTC
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkTypeEthernet);
        _stream.Write(header);
        _stream.Flush();
    }

    /// <summary>Frames written so far.</summary>
    public long FrameCount => Interlocked.Read(ref _frames);

    /// <summary>Creates (or replaces) the capture file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The file cannot be created.</exception>
    public static PcapWriter Create(string path, TimeProvider? clock)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"cannot create pcap file {path}: {e.Message}", e);
        }

        return new PcapWriter(file, clock);
    }

    /// <summary>Appends one frame (truncated to <see cref="SnapLength"/>).</summary>
    public void WriteFrame(ReadOnlySpan<byte> frame)
    {
        lock (_gate)
        {
            ulong micros = _clock is null
                ? (ulong)_frames * 1000
                : (ulong)(_clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
            int kept = (int)Math.Min((uint)frame.Length, SnapLength);
            Span<byte> record = stackalloc byte[RecordHeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)kept);
            BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
            _stream.Write(record);
            _stream.Write(frame[..kept]);
            _stream.Flush();
            _frames++;
        }
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stream.Dispose();
        }
    }
}
