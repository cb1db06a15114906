using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Channel;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Fuzz;

/// <summary>
/// A machine for fuzzing one device, built by the engine's own <see cref="Machine.Assemble"/>
/// (device page, devices, Launcher) over in-memory host ends, booted once and snapshotted,
/// then driven through the real <see cref="Launcher.Run"/> once per program: the program is
/// the guest, played by this machine's channel. After each run every oracle is checked and
/// the memory the run touched is restored from the snapshot.
/// </summary>
/// <remarks>
/// <para>
/// Devices, in page order: the target (net or block), a second, healthy block disk ("spare",
/// for liveness), and the console last, as lguest creates it. A console target has only the
/// spare and the console. Guest RAM is 4 pages, so guest_limit sits a few pages above it and
/// a snapshot compare is a few tens of KiB: cheap enough to do after every execution, while
/// every edge (address 0, guest_limit − 1, ending at guest_limit) stays the real one.
/// </para>
/// <para>
/// The block devices run their worker's pass on the run loop's thread
/// (<see cref="BlockDevice.ServeOnCallerThread"/>): a kick records how far to serve, and the
/// pass runs at the next break or at the end of the run, as settling does in the simulator.
/// </para>
/// </remarks>
public sealed class FuzzMachine : IDisposable
{
    /// <summary>Guest RAM: 2 pages (boot_params, then the page the programs' buffers live in).</summary>
    public const ulong RamSize = 2 * LguestLayout.PageSize;

    /// <summary>The fuzzed block disk: 8 sectors and a partial one.</summary>
    public const int DiskLength = (8 * 512) + 100;

    /// <summary>The spare (healthy) disk: 8 sectors.</summary>
    public const int SpareLength = 8 * 512;

    private const int Page = LguestLayout.PageSize;
    private const int Line = ReferenceModel.DirtyLine;


    private readonly byte[] _backing;
    private readonly FuzzChannel _channel;
    private readonly Observer _observer = new();
    private readonly FuzzConsolePort _console = new();
    private readonly FuzzTap? _tap;
    private readonly FuzzDisk? _disk;
    private readonly FuzzDisk _spare;
    private readonly FuzzDisk?[] _disks;
    private readonly byte[]?[] _modelDisks;
    private readonly byte[]?[] _initialDisks;
    private AssembledMachine _machine;
    private byte[] _snapshot = [];
    private byte[] _shadow = [];
    private bool[] _dirty = [];
    private bool[] _zeroLine = [];
    private ReferenceModel _model = null!;
    private List<FuzzStep> _steps = [];
    private bool _probing;
    private long _consoleWritesBefore;
    private long _spareReadsBefore;
    private int _completionsBefore;
    private int _step;
    private bool _pendingBreak;
    private bool _finished;
    private ModelEnd _modelEnd;
    private string? _mismatch;

    /// <summary>Builds the machine for <paramref name="target"/>, its Launcher in <paramref name="mode"/>.</summary>
    public FuzzMachine(FuzzDevice target, GuestErrorMode mode = GuestErrorMode.Exit)
    {
        Target = target;
        Mode = mode;
        _channel = new FuzzChannel(this);
        if (target == FuzzDevice.Net)
        {
            _tap = new FuzzTap();
        }

        if (target == FuzzDevice.Block)
        {
            _disk = new FuzzDisk(0, DiskLength);
        }

        _spare = new FuzzDisk(1, SpareLength);
        _disks = target == FuzzDevice.Block ? [_disk, _spare] : [_spare];
        _modelDisks = _disks.Select(d => (byte[]?)d!.Initial.ToArray()).ToArray();
        _initialDisks = _disks.Select(d => (byte[]?)d!.Initial.ToArray()).ToArray();
        _backing = new byte[DevicePage.CapacityFor(RamSize)];
        _machine = Build();
        Layout = new FuzzLayout(target, _machine.Setup);
        TakeSnapshot();
    }

    /// <summary>The device the machine is built around.</summary>
    public FuzzDevice Target { get; }

    /// <summary>What the machine's Launcher does with a guest fault.</summary>
    public GuestErrorMode Mode { get; }

    /// <summary>Where everything is.</summary>
    public FuzzLayout Layout { get; }

    /// <summary>Keep <see cref="LastRun"/> (replays do; the fuzz loop does not).</summary>
    public bool RecordRun { get; set; }

    /// <summary>With <see cref="RecordRun"/>: the used entries the last run made (as the model foresaw them) and its early output.</summary>
    public IReadOnlyList<string> LastRun { get; private set; } = [];

    /// <summary>Machines built so far (1 + rebuilds after sticky device state).</summary>
    public int Builds { get; private set; } = 1;

    /// <summary>
    /// Test hook (never set by the fuzzer): runs after each notify or break the Launcher
    /// handled, with guest memory, so that a test can plant a device bug (a stray write, a
    /// used length that lies) and see an oracle catch it.
    /// </summary>
    public Action<GuestMemory, FuzzLayout>? AfterEvent { get; set; }

    /// <summary>
    /// Test hook (never set by the fuzzer): runs when the Launcher isolates a device, with guest
    /// memory, so that a test can plant an isolation that harms the rest of the machine.
    /// </summary>
    public Action<GuestMemory, FuzzLayout>? OnIsolation { get; set; }

    /// <summary>
    /// Test hook (never set by the fuzzer): rewrites how the Launcher's run ended before the
    /// oracles see it, so that a test can plant a Launcher that checks rules in the wrong order.
    /// </summary>
    public Func<LauncherExit, LauncherExit>? ExitOverride { get; set; }

    /// <summary>Runs <paramref name="program"/> and checks every oracle.</summary>
    public FuzzVerdict Run(FuzzProgram program)
    {
        Begin(program);
        LauncherExit exit;
        string? unexpected = null;
        try
        {
            exit = _machine.Launcher.Run();
        }
        catch (LguestHostException e)
        {
            exit = _machine.Launcher.Finish(new LauncherExit(LauncherExitKind.HostError, 1, e.Message));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Any other exception is a Launcher bug the guest provoked: the finding itself.
            string where = e.StackTrace?.Split('\n', 2)[0].Trim() ?? string.Empty;
            unexpected = $"unexpected {e.GetType().Name}: {e.Message} ({where})";
            exit = default;
        }

        FuzzVerdict verdict = unexpected is not null ? FuzzVerdict.Fail(FuzzOracle.Crash, unexpected) : Check(ExitOverride?.Invoke(exit) ?? exit);
        if (RecordRun)
        {
            LastRun = [
                .. _model.Completions.Select(c => $"used: {Layout.Name(c.Device)} vq{c.Queue} head {c.Head} len {c.Length}"),
                .. _observer.Early.Bytes > 0 ? new[] { $"early console: {_observer.Early.Bytes} bytes" } : [],
            ];
        }

        Restore(exit, !verdict.Ok);
        return verdict;
    }

    /// <inheritdoc/>
    public void Dispose() => _machine.Dispose();

    private AssembledMachine Build()
    {
        var devices = new List<MachineDevice>();
        if (_tap is not null)
        {
            devices.Add(new MachineDevice(DeviceKinds.Net, _tap));
        }

        if (_disk is not null)
        {
            devices.Add(new MachineDevice(DeviceKinds.Block, _disk));
        }

        devices.Add(new MachineDevice(DeviceKinds.Block, _spare));
        devices.Add(new MachineDevice(DeviceKinds.Console, _console));
        // No clearing: the first build is over a fresh array, and every later one is followed by
        // a copy of the snapshot over [0, guest_limit), the only bytes the guest can reach.
        var description = new MachineDescription
        {
            MemorySize = RamSize,
            Memory = new ManagedGuestMemory(_backing, RamSize),
            Devices = devices,
            CreateChannel = _ => _channel,
            CreateWaker = _ => NullWaker.Instance,
            CreateObserver = _ => _observer,
            SettleDevicesAtBreak = true,
            GuestErrors = Mode,
        };
        AssembledMachine machine = Machine.Assemble(description);
        _observer.Devices = machine.Setup.Devices;
        _observer.Isolated = () => OnIsolation?.Invoke(machine.Setup.Memory, Layout);
        foreach (VirtioDevice d in machine.Setup.Devices)
        {
            if (d is BlockDevice block)
            {
                block.ServeOnCallerThread = true;
            }

            // The guest's driver probe, done once: ACKNOWLEDGE | DRIVER | DRIVER_OK and every
            // offered feature acknowledged. The snapshot starts every program from here.
            GuestMemory memory = machine.Setup.Memory;
            memory.WriteU8(d.Record.DescriptorAddress + LguestDeviceDesc.StatusOffset, (byte)(VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.DriverOk));
            ulong ack = d.Record.DescriptorAddress + (ulong)LguestDeviceDesc.Size + (ulong)(LguestVqConfig.Size * d.Record.Queues.Count) + (ulong)d.Record.FeatureLength;
            memory.Write(ack, d.Record.OfferedFeatures);
        }

        return machine;
    }

    private void TakeSnapshot()
    {
        int limit = (int)_machine.Setup.Memory.Limit;
        _snapshot = _backing.AsSpan(0, limit).ToArray();
        _shadow = (byte[])_snapshot.Clone();
        _dirty = new bool[(limit + Line - 1) / Line];
        _zeroLine = new bool[_dirty.Length];
        for (int line = 0; line < _zeroLine.Length; line++)
        {
            int start = line * Line;
            _zeroLine[line] = !_snapshot.AsSpan(start, Math.Min(Line, limit - start)).ContainsAnyExcept((byte)0);
        }

        _model = new ReferenceModel(_shadow, (ulong)limit, _machine.Setup.Page.Address, _modelDisks, _dirty)
        {
            IsolateMode = Mode == GuestErrorMode.Isolate,
        };
    }

    private void Begin(FuzzProgram program)
    {
        _steps = program.Steps;
        _probing = false;
        _step = 0;
        _pendingBreak = false;
        _finished = false;
        _modelEnd = ModelEnd.None;
        _mismatch = null;
        _observer.Clear();
        _console.Clear();
        _tap?.Clear();
        _model.Begin(_initialDisks);
        foreach (VirtioDevice d in _machine.Setup.Devices)
        {
            if (d.Input is not null)
            {
                _machine.Launcher.EnableInput(d);
            }
        }
    }

    /// <summary>The guest runs until its next notify, a break, or its end (the channel's <c>Run</c>).</summary>
    private ChannelEvent Next()
    {
        if (_modelEnd != ModelEnd.None || _finished)
        {
            // The model said the run ended at the last event; the Launcher carried on.
            _mismatch ??= "the Launcher carried on where the model ends the run";
            return ChannelEvent.Died("fuzz: model and Launcher disagree");
        }

        if (_step > 0)
        {
            AfterEvent?.Invoke(_machine.Setup.Memory, Layout);
        }

        if (_pendingBreak)
        {
            _pendingBreak = false;
            _modelEnd = _model.Break();
            return ChannelEvent.Broken;
        }

        while (true)
        {
            if (_step == _steps.Count)
            {
                if (_probing || !_model.IsolateMode || _model.Isolations.Count == 0)
                {
                    break;
                }

                // Liveness: after an isolation the rest of the machine still works. A console
                // write and a read of the healthy disk, played after the program.
                _probing = true;
                _steps = LivenessProbe();
                _step = 0;
                _consoleWritesBefore = _console.Writes;
                _spareReadsBefore = _spare.Reads;
                _completionsBefore = _model.Completions.Count;
                continue;
            }

            FuzzStep s = _steps[_step++];
            switch (s.Kind)
            {
                case StepKind.Desc:
                    {
                        Span<byte> d = stackalloc byte[VringDesc.Size];
                        new VringDesc(s.Address, s.Length, s.Flags, s.Next).Write(d);
                        GuestWrite(Layout.Ring(s.Device, s.Queue) + ((ulong)(s.Index % Layout.Num) * VringDesc.Size), d);
                        break;
                    }

                case StepKind.Publish:
                    {
                        ulong avail = Layout.Avail(s.Device, s.Queue);
                        ushort idx = BinaryPrimitives.ReadUInt16LittleEndian(_shadow.AsSpan((int)avail + 2, 2));
                        Span<byte> v = stackalloc byte[2];
                        BinaryPrimitives.WriteUInt16LittleEndian(v, s.Index);
                        GuestWrite(avail + 4 + (2UL * (ulong)(idx % Layout.Num)), v);
                        BinaryPrimitives.WriteUInt16LittleEndian(v, (ushort)(idx + 1));
                        GuestWrite(avail + 2, v);
                        break;
                    }

                case StepKind.AvailIdx:
                    {
                        Span<byte> v = stackalloc byte[2];
                        BinaryPrimitives.WriteUInt16LittleEndian(v, s.Index);
                        GuestWrite(Layout.Avail(s.Device, s.Queue) + 2, v);
                        break;
                    }

                case StepKind.Poke:
                    GuestWrite(s.Address, s.Data);
                    break;
                case StepKind.Fill:
                    GuestFill(s.Address, s.Length, s.Value);
                    break;
                case StepKind.Kick:
                case StepKind.KickDefer:
                case StepKind.Reset:
                case StepKind.Notify:
                    {
                        uint address = s.Kind switch
                        {
                            StepKind.Reset => (uint)Layout.Descriptor(s.Device),
                            StepKind.Notify => (uint)s.Address,
                            _ => (uint)Layout.Ring(s.Device, s.Queue),
                        };
                        _modelEnd = _model.Notify(address);

                        // After a block kick the worker gets the CPU (a break settles it);
                        // after any notify, input that is waiting makes the Waker break.
                        _pendingBreak = (s.Kind == StepKind.Kick && Layout.IsBlock(s.Device)) || _model.InputWaiting();
                        return ChannelEvent.Notify(address);
                    }

                case StepKind.HostInput:
                    if (Layout.Kind(s.Device) == FuzzDevice.Console)
                    {
                        _console.Type(s.Length);
                    }
                    else if (Layout.Kind(s.Device) == FuzzDevice.Net && _tap is not null)
                    {
                        _tap.Arrive(s.Length);
                    }

                    _model.HostInput(s.Device, s.Length);
                    _modelEnd = _model.Break();
                    return ChannelEvent.Broken;
                case StepKind.Worker:
                    _modelEnd = _model.Break();
                    return ChannelEvent.Broken;
            }
        }

        // The end of the program: the guest powers off, and the Launcher settles its devices.
        _finished = true;
        _modelEnd = _model.Settle();
        return ChannelEvent.Died("fuzz program done");
    }

    /// <summary>A console write (vq1 head 125) and a one-sector read of the spare disk (head 120).</summary>
    private List<FuzzStep> LivenessProbe()
    {
        const ushort Next = 1;
        const ushort Write = 2;
        int console = Layout.Console;
        int spare = Layout.Spare;
        return
        [
            new FuzzStep(StepKind.Fill, Address: ProbeText, Length: 8, Value: (byte)'L'),
            FuzzStep.Desc(console, 1, ProbeConsoleHead, ProbeText, 8, 0, 0),
            new FuzzStep(StepKind.Publish, (byte)console, 1, ProbeConsoleHead),
            new FuzzStep(StepKind.Kick, (byte)console, 1),
            new FuzzStep(StepKind.Poke, Address: ProbeHeader, Data: new byte[16]),
            FuzzStep.Desc(spare, 0, ProbeSpareHead, ProbeHeader, 16, Next, ProbeSpareHead + 1),
            FuzzStep.Desc(spare, 0, ProbeSpareHead + 1, ProbeHeader + 0x40, 64, Next | Write, ProbeSpareHead + 2),
            FuzzStep.Desc(spare, 0, ProbeSpareHead + 2, ProbeHeader + 0x90, 1, Write, 0),
            new FuzzStep(StepKind.Publish, (byte)spare, 0, ProbeSpareHead),
            new FuzzStep(StepKind.Kick, (byte)spare, 0),
        ];
    }

    private FuzzVerdict CheckLiveness()
    {
        if (!_probing)
        {
            return FuzzVerdict.Pass;
        }

        // Only what the model says the probe does is claimed: a guest that broke the console or
        // the spare disk itself (rewrote its status, filled its ring with garbage) is not owed them.
        bool consoleDue = false;
        bool spareDue = false;
        List<ModelCompletion> done = _model.Completions;
        for (int i = _completionsBefore; i < done.Count; i++)
        {
            consoleDue |= done[i].Device == Layout.Console && done[i].Queue == 1 && done[i].Head == ProbeConsoleHead;
            spareDue |= done[i].Device == Layout.Spare && done[i].Head == ProbeSpareHead;
        }

        (int device, GuestFault fault) = _model.Isolations[0];
        if (consoleDue && _console.Writes == _consoleWritesBefore)
        {
            return FuzzVerdict.Fail(FuzzOracle.Liveness, $"liveness: after {Layout.Name(device)} was isolated ({fault}), a console write did not come out");
        }

        if (spareDue && _spare.Reads == _spareReadsBefore)
        {
            return FuzzVerdict.Fail(FuzzOracle.Liveness, $"liveness: after {Layout.Name(device)} was isolated ({fault}), a read of the healthy disk did not complete");
        }

        return FuzzVerdict.Pass;
    }

    private const ushort ProbeConsoleHead = 125;
    private const ushort ProbeSpareHead = 120;
    private const ulong ProbeText = 0x1f00;
    private const ulong ProbeHeader = 0x1f40;

    private void GuestWrite(ulong address, ReadOnlySpan<byte> data)
    {
        // The guest may write anywhere below guest_limit; a program that names more is cut.
        ulong limit = (ulong)_shadow.Length;
        if (address >= limit || data.IsEmpty)
        {
            return;
        }

        int n = (int)Math.Min((ulong)data.Length, limit - address);
        data[..n].CopyTo(_shadow.AsSpan((int)address));
        data[..n].CopyTo(_backing.AsSpan((int)address));
        MarkDirty(address, n);
    }

    private void GuestFill(ulong address, uint length, byte value)
    {
        ulong limit = (ulong)_shadow.Length;
        if (address >= limit || length == 0)
        {
            return;
        }

        int n = (int)Math.Min(length, limit - address);
        _shadow.AsSpan((int)address, n).Fill(value);
        _backing.AsSpan((int)address, n).Fill(value);
        MarkDirty(address, n);
    }

    private void MarkDirty(ulong address, int length)
    {
        for (ulong p = address / Line; p <= (address + (ulong)length - 1) / Line; p++)
        {
            _dirty[p] = true;
        }
    }

    private FuzzVerdict Check(LauncherExit exit)
    {
        if (_mismatch is not null && exit.Kind != LauncherExitKind.GuestFault)
        {
            return FuzzVerdict.Fail(FuzzOracle.Outcome, $"outcome: {_mismatch}; the Launcher ended {Describe(exit)}, the model {DescribeModel()}");
        }

        // Outcome: the run ends as the model says, with the fault it names.
        ModelEnd end = _modelEnd;
        if (end == ModelEnd.HostError)
        {
            // Machine.Run settles the devices after a host error too.
            if (_model.Settle() == ModelEnd.Fault)
            {
                end = ModelEnd.Fault;
            }
        }

        GuestFault expectedFault = _model.Fault;
        bool same = end switch
        {
            ModelEnd.None => exit.Kind == LauncherExitKind.GuestDied,
            ModelEnd.HostError => exit.Kind == LauncherExitKind.HostError,
            _ => exit.Kind == LauncherExitKind.GuestFault && exit.Fault == expectedFault,
        };
        if (!same)
        {
            return FuzzVerdict.Fail(FuzzOracle.Outcome, $"outcome: the Launcher ended {Describe(exit)}, the model says {DescribeModel(end, expectedFault)}");
        }

        // Isolate mode: the same devices isolated, in the same order, for the same faults.
        if (!IsolationsAgree(out string? isolations))
        {
            return FuzzVerdict.Fail(FuzzOracle.Outcome, $"outcome: {isolations}");
        }

        // Liveness: after an isolation, the console and the healthy disk still work.
        FuzzVerdict live = CheckLiveness();
        if (!live.Ok)
        {
            return live;
        }

        // Used length: each completion's length, against the writable bytes and the spec.
        FuzzVerdict used = CheckUsed();
        if (!used.Ok)
        {
            return used;
        }

        // Memory: every byte equal to the model's copy (all the Launcher may write is there).
        FuzzVerdict memory = CheckMemory();
        if (!memory.Ok)
        {
            return memory;
        }

        // The block files against the model's disks (when either was written).
        for (int i = 0; i < _disks.Length; i++)
        {
            if (!_disks[i]!.Dirty && !_model.DiskWritten)
            {
                continue;
            }

            int at = FirstDifference(_disks[i]!.Bytes, _modelDisks[i]!);
            if (at >= 0)
            {
                return FuzzVerdict.Fail(FuzzOracle.Disk, $"disk: {(ReferenceEquals(_disks[i], _spare) ? "spare" : "block")} byte {at} is 0x{_disks[i]!.Bytes[at]:x2}, the model's disk has 0x{_modelDisks[i]![at]:x2}");
            }
        }

        if (_observer.Early != _model.EarlyOutput)
        {
            return FuzzVerdict.Fail(FuzzOracle.Outcome, $"early console: the Launcher printed {_observer.Early.Bytes} bytes, the model {_model.EarlyOutput.Bytes}");
        }

        return new FuzzVerdict(true, FuzzOracle.None, Summarize(exit));
    }

    private bool IsolationsAgree(out string? why)
    {
        why = null;
        List<(int Device, GuestFault Fault)> model = _model.Isolations;
        List<(int Device, GuestFault Fault)> real = _observer.Isolations;
        if (model.SequenceEqual(real))
        {
            return true;
        }

        static string List(List<(int Device, GuestFault Fault)> l, FuzzLayout layout) =>
            l.Count == 0 ? "none" : string.Join(", ", l.Select(x => $"{layout.Name(x.Device)} {x.Fault}"));
        why = $"the Launcher isolated {List(real, Layout)}; the model says {List(model, Layout)}";
        return false;
    }

    // "isolated CODE" for each fault code, made once: most isolate-mode runs isolate one device.
    private static readonly string[] s_isolatedOnce = IsolatedNames();

    private static string[] IsolatedNames()
    {
        GuestFault[] faults = Enum.GetValues<GuestFault>();
        string[] names = new string[(int)faults.Max() + 1];
        foreach (GuestFault f in faults)
        {
            names[(int)f] = "isolated " + f;
        }

        return names;
    }

    private string Summarize(LauncherExit exit) => _model.Isolations.Count > 0 && exit.Kind == LauncherExitKind.GuestDied
        ? _model.Isolations.Count == 1 ? s_isolatedOnce[(int)_model.Isolations[0].Fault] : "isolated " + string.Join(",", _model.Isolations.Select(x => x.Fault))
        : exit.Kind switch
    {
        LauncherExitKind.GuestFault => exit.Fault!.Value.ToString(),
        LauncherExitKind.HostError => "HostError",
        _ => "clean",
    };

    private static string Describe(LauncherExit exit) => exit.Kind switch
    {
        LauncherExitKind.GuestFault => $"with guest fault {exit.Fault}",
        LauncherExitKind.GuestDied => "cleanly",
        _ => $"with {exit.Kind}",
    };

    private string DescribeModel() => DescribeModel(_modelEnd, _model.Fault);

    private static string DescribeModel(ModelEnd end, GuestFault fault) => end switch
    {
        ModelEnd.None => "cleanly",
        ModelEnd.HostError => "with a host error",
        _ => $"with guest fault {fault}",
    };

    private FuzzVerdict CheckUsed()
    {
        List<ModelCompletion> done = _model.Completions;
        for (int i = done.Count - 1; i >= 0; i--)
        {
            ModelCompletion c = done[i];
            if (c.Element == ulong.MaxValue || IsOverwritten(done, i))
            {
                continue;
            }

            uint actual = BinaryPrimitives.ReadUInt32LittleEndian(_backing.AsSpan((int)c.Element + 4, 4));
            if (actual == c.Length)
            {
                continue;
            }

            string name = Layout.Name(c.Device);
            return actual > c.Writable && c.Writable != 0 || (c.Writable == 0 && actual > 0 && Layout.Kind(c.Device) != FuzzDevice.Console && Layout.Kind(c.Device) != FuzzDevice.Net)
                ? FuzzVerdict.Fail(FuzzOracle.UsedLength, $"used length: {name} head {c.Head}: {actual} is more than the chain's {c.Writable} writable bytes (spec: {c.Length})")
                : FuzzVerdict.Fail(FuzzOracle.UsedLength, $"used length: {name} head {c.Head}: {actual}, the spec fixes {c.Length} ({c.Writable} writable bytes)");
        }

        return FuzzVerdict.Pass;
    }

    private static bool IsOverwritten(List<ModelCompletion> done, int i)
    {
        for (int j = i + 1; j < done.Count; j++)
        {
            if (done[j].Element == done[i].Element)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Every byte of guest memory against the model's copy. A line that neither the run nor the
    /// model wrote (not dirty) is the snapshot's in the model's copy, and most of those are zero
    /// (rings, free RAM): such lines are only checked to be zero, which reads guest memory alone.
    /// Runs of lines of one kind are checked at once, lowest address first.
    /// </summary>
    private FuzzVerdict CheckMemory()
    {
        int lines = _dirty.Length;
        int runStart = 0;
        bool runZero = !_dirty[0] && _zeroLine[0];
        int at = -1;
        for (int line = 1; line <= lines && at < 0; line++)
        {
            bool zero = line < lines && !_dirty[line] && _zeroLine[line];
            if (line < lines && zero == runZero)
            {
                continue;
            }

            int start = runStart * Line;
            int length = Math.Min(line * Line, _shadow.Length) - start;
            ReadOnlySpan<byte> real = _backing.AsSpan(start, length);
            int off = runZero ? (IsZero(real) ? -1 : real.IndexOfAnyExcept((byte)0)) : real.CommonPrefixLength(_shadow.AsSpan(start, length));
            if (off >= 0 && off < length)
            {
                at = start + off;
            }

            runStart = line;
            runZero = zero;
        }

        if (at < 0)
        {
            return FuzzVerdict.Pass;
        }

        return FuzzVerdict.Fail(FuzzOracle.Memory, $"memory: byte 0x{at:x} ({Layout.Describe((ulong)at)}) is 0x{_backing[at]:x2}, the model says 0x{_shadow[at]:x2}: a write the Launcher may not make");
    }

    /// <summary>Whether every byte is zero: one pass that ORs 32 bytes at a time (IndexOfAnyExcept is far slower here).</summary>
    private static bool IsZero(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<byte> any = Vector256<byte>.Zero;
            for (; i + Vector256<byte>.Count <= bytes.Length; i += Vector256<byte>.Count)
            {
                any |= Vector256.Create(bytes.Slice(i, Vector256<byte>.Count));
            }

            if (any != Vector256<byte>.Zero)
            {
                return false;
            }
        }

        return !bytes[i..].ContainsAnyExcept((byte)0);
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        int n = a.AsSpan().CommonPrefixLength(b);
        return n == a.Length ? -1 : n;
    }

    /// <summary>Puts the machine back to the snapshot: resets what moved, restores dirty lines, or rebuilds.</summary>
    /// <param name="exit">How the run ended.</param>
    /// <param name="rebuild">
    /// Build a new machine whatever the state: after a failed oracle (pages the model did not
    /// expect to change are not all known) or an unexpected exception.
    /// </param>
    private void Restore(LauncherExit exit, bool rebuild)
    {
        bool sticky = rebuild;
        if (!sticky)
        {
            foreach (VirtioDevice d in _machine.Setup.Devices)
            {
                // The guest's console input ended (a zero-length buffer reads end of file): it is
                // served again in the next run (Begin listens to it), as in a new machine.
                if (d is Engine.Devices.Console.ConsoleDevice { InputDead: true } console)
                {
                    console.ReopenInput();
                }

                // A block worker whose fault ended the run (exit mode) keeps it, parked; a
                // Launcher ends there, this one is reused: drop the fault, and the reset below
                // serves the device again.
                bool faulted = d.PendingFault is not null;
                if (faulted)
                {
                    d.DropPendingFault();
                }

                if (faulted || NeedsReset(d, exit))
                {
                    // The guest's own reset: rings zeroed, last_avail_idx 0, the worker rewound.
                    // The snapshot's rings are all zero too (nothing runs before it), so
                    // only the status and ack bytes need restoring afterwards.
                    _machine.Launcher.HandleOutput((uint)d.Record.DescriptorAddress);
                    MarkDirty(d.Record.DescriptorAddress, 1);
                }
            }

            // Whatever a device still holds after its reset (it should hold nothing) leaves it
            // unusable: only a new machine is clean then.
            foreach (VirtioDevice d in _machine.Setup.Devices)
            {
                if (d.Settle(_machine.Launcher) is not null)
                {
                    sticky = true;
                }
            }
        }

        if (sticky)
        {
            _machine.Dispose();
            _machine = Build();
            Builds++;
            if (rebuild)
            {
                // After a failed oracle the dirty pages are not all known: copy everything.
                _snapshot.CopyTo(_backing, 0);
                _snapshot.CopyTo(_shadow, 0);
                Array.Clear(_dirty);
            }
            else
            {
                // The set-up wrote the device page (and boot_params) again; every other byte
                // the run changed is in a line marked dirty, since the model foresaw it.
                MarkDirty(0, Page);
                MarkDirty(Layout.PageAddress, Page);
            }
        }

        if (!rebuild)
        {
            for (int p = 0; p < _dirty.Length; p++)
            {
                if (_dirty[p])
                {
                    int start = p * Line;
                    int len = Math.Min(Line, _snapshot.Length - start);
                    _snapshot.AsSpan(start, len).CopyTo(_backing.AsSpan(start));
                    _snapshot.AsSpan(start, len).CopyTo(_shadow.AsSpan(start));
                    _dirty[p] = false;
                }
            }
        }

        foreach (FuzzDisk? disk in _disks)
        {
            disk!.Restore();
        }
    }

    private static bool NeedsReset(VirtioDevice d, LauncherExit exit)
    {
        // An isolated device comes back only through the guest's reset.
        if (d.IsIsolated)
        {
            return true;
        }

        foreach (Virtqueue q in d.Record.Queues)
        {
            if (q.LastAvailIndex != 0)
            {
                return true;
            }
        }

        // A run that ended early may leave a block worker kicked and not yet served (a clean
        // end settled it): a reset drops that.
        return d is BlockDevice && exit.Kind != LauncherExitKind.GuestDied;
    }

    /// <summary>The channel: the program is the guest.</summary>
    private sealed class FuzzChannel(FuzzMachine machine) : ILguestChannel
    {
        public void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint)
        {
        }

        public ChannelEvent Run() => machine.Next();

        public bool Interrupt(uint irq) => true;

        public void Break()
        {
        }

        public void ReleaseBreak()
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class NullWaker : IWaker
    {
        public static readonly NullWaker Instance = new();

        public void Add(InputSource source)
        {
        }

        public void Remove(InputSource source)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class Observer : ILauncherObserver
    {
        public (long Bytes, ulong Hash) Early { get; private set; }

        public IReadOnlyList<VirtioDevice> Devices { get; set; } = [];

        public List<(int Device, GuestFault Fault)> Isolations { get; } = new();

        public Action? Isolated { get; set; }

        public void Clear()
        {
            Early = (0, 0);
            Isolations.Clear();
        }

        public void OnIsolated(VirtioDevice device, GuestFaultException fault)
        {
            int index = -1;
            for (int i = 0; i < Devices.Count; i++)
            {
                if (ReferenceEquals(Devices[i], device))
                {
                    index = i;
                }
            }

            Isolations.Add((index, fault.Fault));
            Isolated?.Invoke();
        }

        public void OnNotify(uint address)
        {
        }

        public void OnReset(VirtioDevice device)
        {
        }

        public void OnInterrupt(VirtioDevice device, Virtqueue queue)
        {
        }

        public void OnEarlyOutput(ReadOnlySpan<byte> text)
        {
            ulong hash = 14695981039346656037UL;
            foreach (byte b in text)
            {
                hash = (hash ^ b) * 1099511628211UL;
            }

            Early = (Early.Bytes + text.Length, Early.Hash ^ hash);
        }

        public void OnWarning(string message)
        {
        }
    }
}
