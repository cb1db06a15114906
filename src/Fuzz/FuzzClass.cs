namespace LguestSim.Fuzz;

/// <summary>
/// The classes of hostile program the fuzzer makes, one mutation operator each (issue 12
/// item 2): the combinations that broke real virtio back-ends.
/// </summary>
public enum FuzzClass : byte
{
    /// <summary><c>loop</c>: a chain that links back to itself at depth 1..num.</summary>
    Loop,

    /// <summary><c>next-range</c>: a descriptor's next ≥ num.</summary>
    NextRange,

    /// <summary><c>head-range</c>: a published head ≥ num.</summary>
    HeadRange,

    /// <summary><c>avail-jump</c>: avail.idx jumps more than num, including backwards across the 2^16 wrap.</summary>
    AvailJump,

    /// <summary><c>addr-edge</c>: address/length at 0, guest_limit − 1, ending exactly at guest_limit, wrapping 2^32 and 2^64.</summary>
    AddrEdge,

    /// <summary><c>len-zero</c>: zero-length buffers.</summary>
    LenZero,

    /// <summary><c>readable-after-writable</c>: an "out" buffer after an "in" one.</summary>
    ReadableAfterWritable,

    /// <summary><c>wrong-direction</c>: buffers of the wrong direction for the queue.</summary>
    WrongDirection,

    /// <summary><c>unknown-flags</c>: descriptor flag bits nobody defined.</summary>
    UnknownFlags,

    /// <summary><c>full-chain</c>: a chain of exactly num descriptors.</summary>
    FullChain,

    /// <summary><c>blk-header</c>: block header or status mis-sized, misaligned, split across descriptors.</summary>
    BlockHeader,

    /// <summary><c>blk-sector</c>: a sector whose byte offset overflows.</summary>
    BlockSector,

    /// <summary><c>blk-past-end</c>: writes (and reads) past the end of the disk.</summary>
    BlockPastEnd,

    /// <summary><c>blk-scsi</c>: SCSI commands.</summary>
    BlockScsi,

    /// <summary><c>blk-barrier</c>: barriers on reads, writes and SCSI.</summary>
    BlockBarrier,

    /// <summary><c>net-header</c>: net headers mis-sized, misaligned or split.</summary>
    NetHeader,

    /// <summary><c>overfill</c>: more chains in flight than the queue holds.</summary>
    Overfill,

    /// <summary><c>rx-withheld</c>: input (frames, keys) waiting while the guest withholds buffers, then a refill.</summary>
    RxWithheld,

    /// <summary><c>page-rewrite</c>: the device page's queue config, status and feature bytes rewritten after DRIVER_OK.</summary>
    PageRewrite,

    /// <summary><c>reset-in-flight</c>: a device reset while a block request is in the worker.</summary>
    ResetInFlight,

    /// <summary><c>bad-notify</c>: notifies of garbage addresses.</summary>
    BadNotify,

    /// <summary><c>early-nonul</c>: early-console strings with no NUL before guest_limit.</summary>
    EarlyNoNul,
}

/// <summary>Names of the classes and which devices each applies to.</summary>
public static class FuzzClasses
{
    private static readonly string[] s_names =
    [
        "loop", "next-range", "head-range", "avail-jump", "addr-edge", "len-zero", "readable-after-writable",
        "wrong-direction", "unknown-flags", "full-chain", "blk-header", "blk-sector", "blk-past-end", "blk-scsi",
        "blk-barrier", "net-header", "overfill", "rx-withheld", "page-rewrite", "reset-in-flight", "bad-notify", "early-nonul",
    ];

    /// <summary>Every class, in order.</summary>
    public static IReadOnlyList<FuzzClass> All { get; } = Enum.GetValues<FuzzClass>();

    /// <summary>The class's name as the command line and scenarios spell it.</summary>
    public static string Name(this FuzzClass c) => s_names[(int)c];

    /// <summary>Finds a class by name.</summary>
    public static bool TryParse(string name, out FuzzClass c)
    {
        int i = Array.IndexOf(s_names, name);
        c = (FuzzClass)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>The names, for messages.</summary>
    public static string NameList => string.Join(", ", s_names);

    /// <summary>Whether class <paramref name="c"/> makes sense on <paramref name="device"/>.</summary>
    public static bool AppliesTo(this FuzzClass c, FuzzDevice device) => c switch
    {
        FuzzClass.BlockHeader or FuzzClass.BlockSector or FuzzClass.BlockPastEnd or FuzzClass.BlockScsi
            or FuzzClass.BlockBarrier or FuzzClass.ResetInFlight => device == FuzzDevice.Block,
        FuzzClass.NetHeader => device == FuzzDevice.Net,
        FuzzClass.RxWithheld => device != FuzzDevice.Block,
        _ => true,
    };
}
