using System.Diagnostics.CodeAnalysis;
using System.Text;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Backends.Simulated.HostSide;
using LguestSim.Engine.Abi;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>
/// The host ends of the simulated devices, shared across reboots; as the scenario's
/// <see cref="IScenarioHost"/> it plays the <c>host.*</c> verbs on the in-memory console
/// port and taps.
/// </summary>
/// <param name="Console">The console's keyboard and screen.</param>
/// <param name="Taps">The in-memory taps, one per net device, in device order (null where the device has a real tap).</param>
/// <param name="DeviceTaps">What each net device is built on, in device order (wrapped, e.g. for pcap).</param>
public sealed record SimulatedHost(MemoryConsolePort Console, IReadOnlyList<MemoryTap?> Taps, IReadOnlyList<Engine.HostIo.ITap> DeviceTaps) : IScenarioHost
{
    /// <inheritdoc/>
    public int NetCount => Taps.Count;

    /// <inheritdoc/>
    public void TypeConsole(ReadOnlySpan<byte> data) => Console.Type(data);

    /// <inheritdoc/>
    public void CloseConsoleInput() => Console.CloseInput();

    /// <inheritdoc/>
    public void InjectFrame(int net, byte[] frame) => Tap(net).Inject(frame);

    /// <inheritdoc/>
    public bool TryTakeFrame(int net, out byte[] frame) => Tap(net).TryTakeTransmitted(out frame);

    /// <inheritdoc/>
    public void FailNextRead(int net, int result) => Tap(net).FailNextRead(result);

    private MemoryTap Tap(int net) =>
        Taps[net] ?? throw new ScenarioHostException("needs the in-memory tap, but the net device is on a real tap");
}

/// <summary>
/// The simulated guest kernel running a scenario: it boots (bus scan and driver probes) and
/// then plays the scenario's steps on its own thread, one after the other, host actions
/// included, so that everything happens in one deterministic order.
/// </summary>
public sealed class ScenarioGuest
{
    /// <summary>The default host-side MAC of frames the scenario injects.</summary>
    public static readonly byte[] HostMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0xfe];

    private const ushort ScenarioEtherType = 0x88b5;
    private readonly Scenario _scenario;
    private readonly IScenarioHost _host;
    private readonly T _transcript;
    private readonly ulong _memorySize;
    private readonly ulong _pageAddress;
    private GuestContext _guest = null!;
    private LguestBus? _bus;
    private ConsoleDriver? _console;
    private BlockDriver? _block;
    private NetDriver? _net;
    private Guest.Ip.GuestIpStack? _ip;

    /// <summary>Prepares the guest to play <paramref name="scenario"/> from step <paramref name="firstStep"/>.</summary>
    public ScenarioGuest(Scenario scenario, int firstStep, IScenarioHost host, T transcript, IGuestPhysicalMemory memory, ulong memorySize)
    {
        _scenario = scenario;
        NextStep = firstStep;
        _host = host;
        _transcript = transcript;
        Memory = memory;
        _memorySize = memorySize;
        _pageAddress = memorySize;
    }

    /// <summary>Guest memory: copied in and out at an address, never held as a span.</summary>
    public IGuestPhysicalMemory Memory { get; }

    /// <summary>The next step to play (after a reboot, where the new guest carries on).</summary>
    public int NextStep { get; private set; }

    /// <summary>
    /// Whether the Launcher has isolated the device whose record is at a given address
    /// (<c>--guest-errors=isolate</c>), or null. The simulator's knowledge, handed to the guest
    /// so that a step waiting for an isolated device gives up (one line, then the next step)
    /// at a point the run fixes, instead of halting until the halt timeout (see
    /// <see cref="GuestContext.IsIsolated"/>).
    /// </summary>
    public Func<ulong, bool>? IsIsolated { get; init; }

    /// <summary>The guest program: run on the simulated vcpu's thread.</summary>
    public void Run(IGuestCpu cpu)
    {
        var bp = BootParams.Read(Memory.ReadBytes(0, BootParams.Size));
        ulong pageTablePages = ((_memorySize / LguestLayout.PageSize) + 1023) / 1024 + 1;
        ulong top = (bp.RamdiskImage != 0 ? bp.RamdiskImage : _memorySize) - (pageTablePages * LguestLayout.PageSize);
        _guest = new GuestContext(Memory, _memorySize, cpu, _transcript, top) { IsIsolated = IsIsolated };
        ReportBootParams();
        while (NextStep < _scenario.Steps.Count)
        {
            ScenarioStep step = _scenario.Steps[NextStep++];
            try
            {
                Execute(step);
            }
            catch (GuestHeapExhaustedException e)
            {
                Check(step, false, e.Message);
            }
            catch (DeviceIsolatedException e)
            {
                // Nothing will end this wait before the guest resets the device: the step ends.
                _transcript.Line($"guest: {step.Verb} gave up waiting: {e.Message}");
            }
        }
    }

    private void ReportBootParams()
    {
        var bp = BootParams.Read(Memory.ReadBytes(0, BootParams.Size));
        ulong cmdline = bp.CmdLinePtr;
        ReadOnlySpan<byte> rest = cmdline != 0 ? Memory.ReadBytes(cmdline, (int)Math.Min(4096, _memorySize - cmdline)) : [];
        int nul = rest.IndexOf((byte)0);
        string cmd = T.Quote(nul < 0 ? rest : rest[..nul]);
        _transcript.Line($"guest: e820 {bp.E820Entries} entry: {T.Hex(bp.E820Map0.Addr)}+{T.Hex(bp.E820Map0.Length)} type {bp.E820Map0.Type}; cmdline {cmd}; initrd {T.Hex(bp.RamdiskImage)}+{T.Hex(bp.RamdiskSize)}");
        if (bp.E820Entries != 1 || bp.E820Map0.Length != _memorySize)
        {
            _guest.Panic("boot_params e820 map does not describe guest RAM");
        }
    }

    private void Execute(ScenarioStep step)
    {
        switch (step.Verb)
        {
            case "boot":
                EnsureBooted();
                break;
            case "early":
                EarlyPrint(Bytes(step.Words[0]));
                break;
            case "kick-early":
                KickEarly(step);
                break;
            case "console.write":
                Console().Write(Bytes(step.Words[0]));
                break;
            case "console.expect":
                Console().Expect(Bytes(step.Words[0]));
                break;
            case "block.read":
            case "block.write":
            case "block.scsi":
                BlockRequest(step);
                break;
            case "idle":
                // Halt once: wake on an interrupt or when the Launcher next services input.
                _transcript.Line("guest: idle");
                _guest.Cpu.Halt();
                _guest.DeliverInterrupts();
                break;
            case "block.kick":
                Block().KickAndWait();
                break;
            case "net.send":
                Net().Send(Frame(step, Net().Mac, isHost: false));
                break;
            case "net.expect":
                // count=N: N frames, the i-th with seed:S+i when data=seed:S.
                for (int i = 0; i < (int)ScenarioParser.Number(step, "count", 1); i++)
                {
                    ExpectFrame(step, Net().Receive(), "guest", i);
                }

                break;
            case "host.type":
                _transcript.Line($"host: type {T.Quote(Bytes(step.Words[0]))}");
                OnHost(step, () => _host.TypeConsole(Bytes(step.Words[0])));
                break;
            case "host.console.eof":
                _transcript.Line("host: console input at end of file");
                OnHost(step, _host.CloseConsoleInput);
                break;
            case "host.net.send":
                for (int i = 0; i < (int)ScenarioParser.Number(step, "count", 1); i++)
                {
                    byte[] frame = Frame(step, HostMac, isHost: true, i);
                    _transcript.Line($"host: tap send len={frame.Length} {NetDriver.Describe(frame)}");
                    OnHost(step, () => _host.InjectFrame(Tap(step), frame));
                }

                break;
            case "host.net.expect":
                byte[] sent = [];
                bool taken = false;
                OnHost(step, () => taken = _host.TryTakeFrame(Tap(step), out sent));
                Check(step, taken, "no frame came out of the tap");
                _transcript.Line($"host: tap got len={sent.Length} {NetDriver.Describe(sent)}");
                ExpectFrame(step, sent, "host");
                break;
            case "host.net.read-error":
            case "net.arp":
            case "net.ping":
            case "net.ping-wait":
            case "net.rx-hold":
            case "net.rx-drain":
            case "net.rx-refill":
                NetStep(step);
                break;
            case "reset":
                ResetAndReprobe(step.Words[0]);
                break;
            case "ring.desc":
            case "ring.publish":
            case "ring.avail-idx":
            case "ring.kick":
                RingMischief(step);
                break;
            case "poweroff":
                string message = step.Words.Count > 0 ? step.Words[0] : "Power down";
                _transcript.Line($"guest: power off \"{message}\"");
                throw new GuestShutdownException(message, reboot: false);
            case "panic":
                _transcript.Line($"guest: panic \"{step.Words[0]}\"");
                throw new GuestShutdownException(step.Words[0], reboot: false);
            case "reboot":
                _transcript.Line("guest: reboot");
                throw new GuestShutdownException("Restarting system", reboot: true);
            default:
                throw new InvalidOperationException($"verb {step.Verb} not implemented");
        }
    }

    private void EnsureBooted()
    {
        if (_bus is not null)
        {
            return;
        }

        _transcript.Line($"guest: scanning device page at {T.Hex(_pageAddress)}");
        _bus = new LguestBus(_guest, _pageAddress);
        _bus.Scan();

        foreach (GuestDriver driver in GuestDrivers.ProbeOrder)
        {
            foreach (BusDevice device in _bus.Devices.Where(d => d.Type == driver.Type))
            {
                Probe(device, driver);
            }
        }
    }

    private void Probe(BusDevice device, GuestDriver? driver)
    {
        if (driver is null)
        {
            // No driver for this type: the device stays acknowledged and unbound.
            return;
        }

        device.AddStatus(VirtioStatus.Driver);
        device.AddStatus(driver.Probe(this, device) ? VirtioStatus.DriverOk : VirtioStatus.Failed);
    }

    /// <summary>virtio_console's probe (a <see cref="GuestDrivers"/> row).</summary>
    internal bool ProbeConsole(BusDevice device)
    {
        _console = new ConsoleDriver(_guest, device);
        _console.Probe();
        return true;
    }

    /// <summary>virtio_blk's probe (a <see cref="GuestDrivers"/> row).</summary>
    internal bool ProbeBlock(BusDevice device)
    {
        _block = new BlockDriver(_guest, device);
        _block.Probe();
        return true;
    }

    /// <summary>virtio_net's probe (a <see cref="GuestDrivers"/> row).</summary>
    internal bool ProbeNet(BusDevice device)
    {
        _net = new NetDriver(_guest, device);
        _ip = null;
        return _net.Probe();
    }

    private void ResetAndReprobe(string name)
    {
        EnsureBooted();
        BusDevice device = _bus!.Devices.FirstOrDefault(d => d.Name == name) ?? Fail<BusDevice>($"no {name} device");
        device.Reset();
        device.AddStatus(VirtioStatus.Acknowledge);
        Probe(device, GuestDrivers.Find(device.Type));
    }

    private void EarlyPrint(byte[] text)
    {
        // lguest's early console: at most 16 characters a notify, NUL-terminated, from a
        // scratch buffer in guest RAM.
        ulong scratch = _guest.Heap.Allocate(17);
        for (int off = 0; off < text.Length; off += 16)
        {
            int n = Math.Min(16, text.Length - off);
            Memory.Write(scratch, text.AsSpan(off, n));
            Memory.WriteU8(scratch + (ulong)n, 0);
            _guest.Notify((uint)scratch);
        }

        _guest.Heap.Free(scratch);
    }

    private void KickEarly(ScenarioStep step)
    {
        (_, LguestVqConfig config) = FindQueue(step.Words[0], (int)ScenarioParser.Number(step, "vq", 0), step);
        _transcript.Line($"guest: kick {step.Words[0]} queue before acknowledging it (notify {T.Hex(config.Pfn * 4096UL)})");
        _guest.Notify(config.Pfn * LguestLayout.PageSize);
    }

    private void BlockRequest(ScenarioStep step)
    {
        BlockDriver block = Block();
        uint type = step.Verb switch
        {
            "block.write" => VirtioBlkOutHdr.TypeOut,
            "block.scsi" => VirtioBlkOutHdr.TypeScsiCmd,
            _ => VirtioBlkOutHdr.TypeIn,
        };
        if (step.Has("barrier"))
        {
            type |= VirtioBlkOutHdr.TypeBarrier;
        }

        int bytes = step.Verb == "block.scsi" ? 0 : checked((int)ScenarioParser.Number(step, "count", 1) * 512);
        byte[] data = new byte[bytes];
        if (step.Named.TryGetValue("data", out string? d) && DataPattern.TryParse(d, out DataPattern pattern))
        {
            data = pattern.Generate(bytes);
        }

        block.Submit(new BlockRequest
        {
            Type = type,
            Sector = ScenarioParser.Number(step, "sector", 0),
            Data = data,
            Segments = (int)ScenarioParser.Number(step, "segments", 1),
            Completed = r => CheckBlock(step, r),
        });
        if (!step.Has("nokick"))
        {
            block.KickAndWait();
        }
    }

    private void CheckBlock(ScenarioStep step, BlockRequest r)
    {
        string want = step.Named.GetValueOrDefault("status", "OK");
        Check(step, BlockDriver.StatusName(r.Status) == want, $"status {BlockDriver.StatusName(r.Status)}, expected {want}");
        if (step.Named.ContainsKey("len"))
        {
            ulong len = ScenarioParser.Number(step, "len", 0);
            Check(step, r.UsedLength == len, $"used length {r.UsedLength}, expected {len}");
        }

        if (step.Named.TryGetValue("expect", out string? e) && DataPattern.TryParse(e, out DataPattern pattern))
        {
            byte[] expected = pattern.Generate(r.ReadBack.Length);
            Check(step, expected.AsSpan().SequenceEqual(r.ReadBack), $"data read back differs from {pattern}");
            _transcript.Line($"guest: block read #{r.Sequence} verified {pattern}");
        }
    }

    private byte[] Frame(ScenarioStep step, byte[] ownMac, bool isHost, int index = 0)
    {
        int len = (int)ScenarioParser.Number(step, "len", 60);
        Check(step, len >= 14 && len <= 1514, $"frame length {len} outside 14..1514");
        byte[] frame = new byte[len];
        // An explicit dst= needs no driver: the host may send before the guest has booted.
        byte[] dst;
        if (step.Named.TryGetValue("dst", out string? d))
        {
            ScenarioParser.TryParseMac(d, out dst);
        }
        else
        {
            dst = isHost ? Net().Mac : [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        }

        byte[] src = ownMac;
        if (step.Named.TryGetValue("src", out string? s))
        {
            ScenarioParser.TryParseMac(s, out src);
        }

        dst.CopyTo(frame, 0);
        src.CopyTo(frame, 6);
        ushort etherType = (ushort)ScenarioParser.Number(step, "type", ScenarioEtherType);
        frame[12] = (byte)(etherType >> 8);
        frame[13] = (byte)etherType;
        DataPattern payload = new(false, 1);
        if (step.Named.TryGetValue("data", out string? p))
        {
            DataPattern.TryParse(p, out payload);
        }

        payload = payload.IsFill ? payload : payload with { Value = payload.Value + (ulong)index };
        payload.Generate(len - 14).CopyTo(frame, 14);
        return frame;
    }

    private void ExpectFrame(ScenarioStep step, byte[] frame, string who, int index = 0)
    {
        if (step.Named.ContainsKey("len"))
        {
            ulong len = ScenarioParser.Number(step, "len", 0);
            Check(step, (ulong)frame.Length == len, $"{who} frame length {frame.Length}, expected {len}");
        }

        if (step.Named.TryGetValue("data", out string? p) && DataPattern.TryParse(p, out DataPattern pattern))
        {
            pattern = pattern.IsFill ? pattern : pattern with { Value = pattern.Value + (ulong)index };
            Check(step, frame.Length >= 14 && pattern.Generate(frame.Length - 14).AsSpan().SequenceEqual(frame.AsSpan(14)), $"{who} frame payload differs from {pattern}");
        }
    }

    private void RingMischief(ScenarioStep step)
    {
        List<string> words = step.Words.Where(w => w != "wait").ToList();
        string name = words[0];
        ScenarioParser.TryParseNumber(words[1], out ulong vq);
        (ulong record, LguestVqConfig config) = FindQueue(name, (int)vq, step);
        var layout = new Engine.Virtio.VringLayout(config.Num);
        ulong ring = config.Pfn * (ulong)LguestLayout.PageSize;
        ulong avail = ring + (ulong)layout.AvailOffset;
        switch (step.Verb)
        {
            case "ring.desc":
                ScenarioParser.TryParseNumber(words[2], out ulong index);
                Check(step, index < config.Num, $"descriptor {index} outside the table");
                var desc = new VringDesc(
                    ScenarioParser.Number(step, "addr", 0),
                    (uint)ScenarioParser.Number(step, "len", 0),
                    (ushort)ScenarioParser.Number(step, "flags", 0),
                    (ushort)ScenarioParser.Number(step, "next", 0));
                Span<byte> raw = stackalloc byte[VringDesc.Size];
                desc.Write(raw);
                Memory.Write(ring + (index * VringDesc.Size), raw);
                _transcript.Line($"guest: raw {name} vq{vq} desc {index} addr={T.Hex(desc.Addr)} len={T.Hex(desc.Len)} flags={desc.Flags} next={desc.Next}");
                break;
            case "ring.publish":
                ScenarioParser.TryParseNumber(words[2], out ulong head);
                ushort idx = Memory.ReadU16(avail + 2);
                Memory.WriteU16(avail + 4 + (2UL * (ulong)(idx & (config.Num - 1))), (ushort)head);
                Memory.WriteU16(avail + 2, (ushort)(idx + 1));
                _transcript.Line($"guest: raw {name} vq{vq} publish head {head} (avail.idx {idx + 1})");
                break;
            case "ring.avail-idx":
                ScenarioParser.TryParseNumber(words[2], out ulong value);
                Memory.WriteU16(avail + 2, (ushort)value);
                _transcript.Line($"guest: raw {name} vq{vq} avail.idx = {(ushort)value}");
                break;
            case "ring.kick":
                bool wait = step.Has("wait");
                _transcript.Line($"guest: raw {name} vq{vq} kick{(wait ? ", then wait for used.idx to reach avail.idx" : string.Empty)}");
                _guest.Notify(config.Pfn * LguestLayout.PageSize);

                // A queue served by a worker thread (block) completes, or faults, after the
                // notify has returned; a guest that waits here pins which comes first.
                if (wait)
                {
                    ulong used = ring + (ulong)layout.UsedOffset;
                    _guest.WaitUntil((record, name), () => Memory.ReadU16(used + 2) == Memory.ReadU16(avail + 2));
                }

                break;
        }
    }

    private (ulong Record, LguestVqConfig Config) FindQueue(string name, int index, ScenarioStep step)
    {
        // Read the page directly, as early code would, without registering anything.
        int offset = 0;
        while (offset < LguestLayout.PageSize)
        {
            var desc = LguestDeviceDesc.Read(Memory.ReadBytes(_pageAddress + (ulong)offset, LguestDeviceDesc.Size));
            if (desc.Type == 0)
            {
                break;
            }

            string kind = desc.Type switch { 1 => "net", 2 => "block", 3 => "console", _ => "?" };
            if (kind == name)
            {
                Check(step, index < desc.NumVq, $"{name} has no queue {index}");
                ulong at = _pageAddress + (ulong)offset + LguestDeviceDesc.Size + ((ulong)index * LguestVqConfig.Size);
                return (_pageAddress + (ulong)offset, LguestVqConfig.Read(Memory.ReadBytes(at, LguestVqConfig.Size)));
            }

            offset += desc.RecordSize;
        }

        return Fail<(ulong, LguestVqConfig)>($"no {name} device on the page");
    }

    private ConsoleDriver Console()
    {
        EnsureBooted();
        return _console ?? Fail<ConsoleDriver>("no console driver");
    }

    private BlockDriver Block()
    {
        EnsureBooted();
        return _block ?? Fail<BlockDriver>("no block device");
    }

    private NetDriver Net()
    {
        EnsureBooted();
        return _net ?? Fail<NetDriver>("no net device");
    }

    /// <summary>The net device whose tap the <c>host.net.*</c> verbs use: the first.</summary>
    private int Tap(ScenarioStep step)
    {
        Check(step, _host.NetCount > 0, "no net device");
        return 0;
    }

    /// <summary>Plays a <c>host.*</c> action; one the host cannot play fails the step.</summary>
    private void OnHost(ScenarioStep step, Action action)
    {
        try
        {
            action();
        }
        catch (ScenarioHostException e)
        {
            Check(step, false, $"{step.Verb} {e.Message}");
        }
    }

    /// <summary>The guest's IPv4 over the (first) net device, and the receive-ring controls.</summary>
    private void NetStep(ScenarioStep step)
    {
        Action<string> fail = message => Check(step, false, message);
        switch (step.Verb)
        {
            case "host.net.read-error":
                int errno = (int)ScenarioParser.Number(step, "errno", 5);
                _transcript.Line(errno == 0 ? "host: the next tap read returns 0 bytes" : $"host: the next tap read fails with errno {errno}");
                OnHost(step, () => _host.FailNextRead(Tap(step), -errno));
                break;
            case "net.arp":
                Ip().Arp(Address(step.Words[0]), Address(step.Named["from"]), fail);
                break;
            case "net.ping":
                Ip().Ping(
                    Address(step.Words[0]),
                    Address(step.Named["from"]),
                    (int)ScenarioParser.Number(step, "count", 1),
                    (int)ScenarioParser.Number(step, "size", 56),
                    wait: !step.Has("nowait"),
                    fail);
                break;
            case "net.ping-wait":
                _transcript.Line($"guest: ip waiting for {Ip().Outstanding} echo replies");
                Ip().WaitForReplies(fail);
                _transcript.Line("guest: ip every echo request answered");
                break;
            case "net.rx-hold":
                Net().RxHeld = true;
                _transcript.Line($"guest: net rx hold: used receive buffers are not replaced ({Net().RxOutstanding} outstanding)");
                break;
            case "net.rx-drain":
                Check(step, Net().RxHeld, "net.rx-drain needs net.rx-hold first (the driver refills otherwise)");
                _transcript.Line($"guest: net rx drain: waiting until the device has used all {Net().RxOutstanding} receive buffers");
                Net().WaitRxDry();
                _transcript.Line($"guest: net rx ring dry; {Net().Pending} frames received and not yet taken");
                break;
            case "net.rx-refill":
                Net().RxHeld = false;
                Net().RefillRx();
                break;
        }
    }

    private Guest.Ip.GuestIpStack Ip() => _ip ??= new Guest.Ip.GuestIpStack(_guest, Net());

    private static uint Address(string text)
    {
        Guest.Ip.Packets.TryParseAddress(text, out uint address);
        return address;
    }

    private void Check(ScenarioStep step, [DoesNotReturnIf(false)] bool condition, string message)
    {
        if (!condition)
        {
            _transcript.Line($"check failed at {step.Where}: {message}");
            throw new GuestShutdownException($"scenario check failed at {step.Where}: {message}", reboot: false);
        }
    }

    [DoesNotReturn]
    private TResult Fail<TResult>(string message)
    {
        ScenarioStep step = _scenario.Steps[NextStep - 1];
        Check(step, false, message);
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>A scenario string as bytes: characters up to U+00FF map to one byte each, anything else is UTF-8.</summary>
    public static byte[] Bytes(string text) =>
        text.All(c => c <= '\u00ff') ? text.Select(c => (byte)c).ToArray() : Encoding.UTF8.GetBytes(text);
}
