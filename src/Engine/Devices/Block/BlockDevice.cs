using LguestSim.Engine.Abi;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Devices.Block;

/// <summary>
/// The virtio block device (type 2) over a file: one queue of requests, each a 16-byte
/// header, data segments and a 1-byte status, served by the device's own worker thread.
/// </summary>
/// <remarks>
/// <para>
/// Spec §5.3; lguest.c <c>setup_block_file()</c>, <c>do_write()</c> (the kick),
/// <c>service_io()</c> and <c>handle_io_finish()</c>.
/// </para>
/// <para>
/// The hand-off, as in the original: a kick only wakes the worker (<see cref="HandleNotify"/>);
/// the worker pops each chain, serves it (<see cref="Service"/>) and adds it to the used ring;
/// its completions make <see cref="Input"/> ready, the Waker breaks the run, and the run loop
/// raises one interrupt per completed request (<see cref="HandleInput"/>). Who may touch the
/// ring when is spelled out on <see cref="BlockWorker"/>.
/// </para>
/// </remarks>
public sealed class BlockDevice : VirtioDevice, IDisposable
{
    /// <summary>Sector size in bytes.</summary>
    public const int SectorSize = 512;

    /// <summary>Most data segments per request: VIRTQUEUE_NUM − 2.</summary>
    public const uint SegMax = LguestLayout.VirtqueueNum - 2;

    private readonly IBlockStore _store;
    private readonly BlockCompletions _done;
    private readonly Action? _workerStarting;
    private BlockWorker? _worker;

    private BlockDevice(DeviceRecord record, IBlockStore store, Action? workerStarting)
        : base(record)
    {
        _store = store;
        _workerStarting = workerStarting;
        _done = new BlockCompletions();
    }

    /// <summary>
    /// Run the worker's passes on the run loop's thread instead of a thread of its own: a kick
    /// only records how far to serve, and the pass runs when the run loop settles the device
    /// (at a break with <see cref="Launch.Launcher.SettleDevicesAtBreak"/>, and at the end of a
    /// run). The fuzzer's hook, and nothing else's: it replays hundreds of thousands of short
    /// programs a second, which a thread hand-off per request would not allow, while the
    /// request code it exercises stays the worker's own. Set before the first kick.
    /// </summary>
    public bool ServeOnCallerThread { get; set; }

    /// <summary>The request queue.</summary>
    public Virtqueue Queue => Record.Queues[0];

    /// <summary>The store's length when the device was set up.</summary>
    public long FileLength => _store.Length;

    /// <summary>The worker's completions: ready when interrupts are owed or the worker faulted.</summary>
    public override InputSource? Input => _done;

    /// <summary>
    /// Lays out the block record (one queue, BARRIER and SEG_MAX offered, capacity in
    /// 512-byte sectors with a partial last sector dropped) and creates the device.
    /// </summary>
    /// <param name="page">The device page.</param>
    /// <param name="store">The backing file.</param>
    /// <param name="workerStarting">Run first thing on the worker thread (a benchmark pins it to a CPU).</param>
    public static BlockDevice Create(DevicePage page, IBlockStore store, Action? workerStarting = null)
    {
        DeviceRecord record = page.AddDevice(VirtioDeviceType.Block, "block");
        record.AddVirtqueue();
        record.AddFeature(VirtioBlkConfig.FeatureBarrier);
        record.AddFeature(VirtioBlkConfig.FeatureSegMax);
        Span<byte> config = stackalloc byte[VirtioBlkConfig.Size];

        // size_max is zero: the original never set it (stack garbage), and it is not offered.
        new VirtioBlkConfig((ulong)store.Length / SectorSize, 0, SegMax).Write(config);
        record.SetConfig(config);
        return new BlockDevice(record, store, workerStarting);
    }

    /// <summary>The guest kicked the request queue: wake the worker; nothing is served here.</summary>
    /// <remarks>
    /// The worker is started at the first kick, when the Launcher's context is known (the
    /// original started its thread at setup; the guest cannot tell the difference).
    /// </remarks>
    /// <returns>Null: the worker's faults come back through <see cref="HandleInput"/> or <see cref="Settle"/>.</returns>
    public override GuestFaultException? HandleNotify(Virtqueue queue, IDeviceContext context)
    {
        _worker ??= new BlockWorker(this, _done, context, _workerStarting, ServeOnCallerThread);

        // ORDERING: only an upper bound for the worker. The guest stored the ring entries
        // before this index; the worker reads the index again, with its own barrier, before it
        // trusts any entry.
        ushort availIndex = context.Memory.ReadU16(Queue.RingAddress + (ulong)Queue.Layout.AvailOffset + VringRingHeader.IdxOffset);
        _worker.Kick(availIndex);
        return null;
    }

    /// <summary>
    /// The worker completed requests: one interrupt for each (lguest.c raised one per byte on
    /// the done pipe); then, if the worker stopped on a guest fault, that fault, which the run
    /// loop reports as it reports a fault of its own.
    /// </summary>
    public override GuestFaultException? HandleInput(IDeviceContext context, out bool keepListening)
    {
        keepListening = true;
        WriteWarnings(context);
        for (int completed = _done.TakeCompleted(); completed > 0; completed--)
        {
            if (context.TriggerIrq(Queue) is { } rejected)
            {
                return rejected;
            }
        }

        return _done.Fault;
    }

    /// <summary>Lets the worker finish what was kicked, then reports its fault, if any.</summary>
    public override GuestFaultException? Settle(IDeviceContext context)
    {
        _worker?.Settle();
        WriteWarnings(context);
        return _done.Fault;
    }

    private void WriteWarnings(IDeviceContext context)
    {
        foreach (string warning in _done.TakeWarnings())
        {
            context.Warn(warning);
        }
    }

    /// <summary>A reset is about to zero the ring: park the worker first.</summary>
    public override void PrepareReset() => _worker?.Quiesce();

    /// <inheritdoc/>
    public override GuestFaultException? PendingFault => _done.Fault;

    /// <summary>
    /// Isolate mode: park the worker (it returns only once the request in hand, if any, is
    /// done), write what it still had to say, raise the interrupts still owed for requests it
    /// completed before it stopped (their used entries are on the ring), and drop its fault:
    /// the device is not served again before the guest resets it.
    /// </summary>
    public override void OnIsolated(IDeviceContext context)
    {
        _worker?.Quiesce();
        WriteWarnings(context);
        _done.ClearFault();
        for (int completed = _done.TakeCompleted(); completed > 0; completed--)
        {
            if (context.TriggerIrq(Queue) is not null)
            {
                // The kernel refused the irq (a page rewritten by the guest): the device is
                // isolated already, and the rest of the owed interrupts would be refused too.
                break;
            }
        }
    }

    /// <inheritdoc/>
    public override void DropPendingFault()
    {
        _worker?.Quiesce();
        _done.ClearFault();
        _done.TakeWarnings();
        _done.TakeCompleted();
    }

    /// <summary>
    /// The ring was zeroed: forget interrupts still owed for requests of the old ring (their
    /// used entries are gone) and let the worker wait for the next kick.
    /// </summary>
    /// <remarks>
    /// Decision: lguest.c would still raise those interrupts, which a re-probing guest sees as
    /// "not mine". A fault the worker hit before the reset and the run loop has not taken
    /// (exit mode) is kept, the worker stays stopped, and the fault still ends the run; once the
    /// fault was taken (isolate mode, <see cref="OnIsolated"/>) the worker serves again.
    /// </remarks>
    public override void OnReset()
    {
        _done.TakeCompleted();
        _worker?.Resume(clearFailure: _done.Fault is null);
    }

    /// <summary>Stops the worker after the request in hand (the Launcher's process ending).</summary>
    public void Dispose() => _worker?.Dispose();

    /// <summary>
    /// Serves one request on the worker thread and writes its status byte.
    /// </summary>
    /// <param name="chain">The request.</param>
    /// <param name="context">The Launcher.</param>
    /// <param name="used">The used length: 1 (the status byte), plus the bytes read for a read; not meaningful when a fault is returned.</param>
    /// <returns>
    /// Null; or <see cref="GuestFault.BlockBadRequestShape"/>, <see cref="GuestFault.BadTypedBuffer"/>,
    /// <see cref="GuestFault.BlockBadSector"/> or <see cref="GuestFault.BlockWritePastEnd"/>, and
    /// then nothing has been written to the file or to the status byte.
    /// </returns>
    /// <remarks>lguest.c <c>service_io()</c>, spec §5.3 steps 1–7.</remarks>
    internal GuestFaultException? Service(DescriptorChain chain, IDeviceContext context, out uint used)
    {
        used = 0;
        if (chain.ReadableCount == 0 || chain.WritableCount == 0)
        {
            return new GuestFaultException(GuestFault.BlockBadRequestShape, $"bad block command: head {chain.Head} out {chain.ReadableCount} in {chain.WritableCount}");
        }

        GuestMemory memory = context.Memory;
        GuestBuffer headerBuffer = chain.Readable[0];
        GuestBuffer statusBuffer = chain.Writable[^1];
        if (TypedBuffer.Validate(headerBuffer, VirtioBlkOutHdr.Size, VirtioBlkOutHdr.Alignment, "struct virtio_blk_outhdr") is { } badHeader)
        {
            return badHeader;
        }

        if (TypedBuffer.Validate(statusBuffer, 1, 1, "u8 status") is { } badStatus)
        {
            return badStatus;
        }

        // One copy of the header: the guest may rewrite it while we work.
        var header = VirtioBlkOutHdr.Read(memory.GetSpan(headerBuffer.Address, VirtioBlkOutHdr.Size));

        byte status;
        used = 1;

        // The barrier comes first, before anything else the request does and whatever its
        // type: every write the guest was told was done must be on disk before this request
        // can be. Decision: lguest.c ignored fdatasync's result; if it fails, the writes before
        // the barrier may not be durable, so this request is not done and reports IOERR.
        if ((header.Type & VirtioBlkOutHdr.TypeBarrier) != 0 && _store.FlushData() < 0)
        {
            status = VirtioBlkOutHdr.StatusIoErr;
        }
        else if ((header.Type & VirtioBlkOutHdr.TypeScsiCmd) != 0)
        {
            // Held for the run loop to write (BlockCompletions.Warn): this is the worker's thread.
            _done.Warn("block: SCSI unsupported");
            status = VirtioBlkOutHdr.StatusUnsupp;
        }
        else if (ByteOffset(header.Sector, out long offset) is { } badSector)
        {
            // lguest.c seeked before reading or writing a byte, so a bad sector is fatal
            // whichever way the data goes.
            return badSector;
        }
        else if ((header.Type & VirtioBlkOutHdr.TypeOut) != 0)
        {
            if (Write(memory, header.Sector, offset, chain.Readable[1..], out status) is { } pastEnd)
            {
                return pastEnd;
            }
        }
        else
        {
            long read = _store.ReadAt(memory, chain.Writable[..^1], offset);

            // At or past the end of the file nothing is read: OK, length 1, buffers untouched.
            if (read >= 0)
            {
                status = VirtioBlkOutHdr.StatusOk;
                used = 1 + (uint)read;
            }
            else
            {
                status = VirtioBlkOutHdr.StatusIoErr;
            }
        }

        memory.WriteU8(statusBuffer.Address, status);
        return null;
    }

    private GuestFaultException? Write(GuestMemory memory, ulong sector, long offset, ReadOnlySpan<GuestBuffer> data, out byte status)
    {
        ulong length = TotalLength(data);

        // Checked before a byte is written, so the file never grows and is left as it was.
        // lguest.c wrote first and truncated back, which left the in-file part written.
        if (length > 0 && (ulong)offset + length > (ulong)_store.Length)
        {
            status = 0;
            return new GuestFaultException(GuestFault.BlockWritePastEnd, $"write to sector {sector} (offset {offset}, length {length}) past end of file ({_store.Length} bytes)");
        }

        // A short write (the disk filled up half-way) is a failed write: the guest must not
        // believe the rest of its data is on disk.
        long written = _store.WriteAt(memory, data, offset);
        status = written >= 0 && (ulong)written == length ? VirtioBlkOutHdr.StatusOk : VirtioBlkOutHdr.StatusIoErr;
        return null;
    }

    /// <summary><c>sector * 512</c>, which lguest.c passed to lseek: a negative result fails the seek, which is fatal.</summary>
    private static GuestFaultException? ByteOffset(ulong sector, out long offset)
    {
        if (sector > (ulong)long.MaxValue / SectorSize)
        {
            offset = 0;
            return new GuestFaultException(GuestFault.BlockBadSector, $"bad seek to sector {sector}");
        }

        offset = (long)sector * SectorSize;
        return null;
    }

    private static ulong TotalLength(ReadOnlySpan<GuestBuffer> buffers)
    {
        ulong total = 0;
        foreach (GuestBuffer b in buffers)
        {
            total += b.Length;
        }

        return total;
    }
}
