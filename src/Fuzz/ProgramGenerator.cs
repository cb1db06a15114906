using System.Buffers.Binary;

namespace LguestSim.Fuzz;

/// <summary>
/// Makes hostile programs: a well-formed request for the target device (the template a
/// driver would send), then the class's operator bends it. Programs are short: one to three
/// requests, one kick each, sometimes a reset or host input between.
/// </summary>
public static class ProgramGenerator
{
    private const ushort Next = 1;
    private const ushort Write = 2;
    private const ulong RamStart = 0x1000;

    /// <summary>Makes a program of class <paramref name="cls"/> for the machine laid out as <paramref name="layout"/>.</summary>
    /// <param name="cls">The class.</param>
    /// <param name="layout">The machine.</param>
    /// <param name="r">The choices.</param>
    /// <param name="singleKick">One request and one kick only (the throughput figure's programs).</param>
    /// <param name="into">
    /// A program of this layout's target to make it in (emptied first), rather than a new one:
    /// the fuzz loop's, whose chains of up to num descriptors would otherwise be garbage at once.
    /// </param>
    public static FuzzProgram Generate(FuzzClass cls, FuzzLayout layout, FuzzRandom r, bool singleKick = false, FuzzProgram? into = null)
    {
        FuzzProgram program = into ?? new FuzzProgram(layout.Kind(layout.Target), cls);
        if (into is not null)
        {
            if (into.Target != layout.Kind(layout.Target))
            {
                throw new ArgumentException("the program is for another target", nameof(into));
            }

            into.Restart(cls);
        }

        Room room = into is null ? new Room() : into.GeneratorRoom ??= new Room();
        room.Reset();
        var b = new Builder(layout, r, program, room);
        int extra = singleKick || cls is FuzzClass.RxWithheld or FuzzClass.ResetInFlight ? 0 : r.Next(3);
        int at = r.Next(extra + 1);
        for (int i = 0; i <= extra; i++)
        {
            if (i == at)
            {
                b.Hostile(cls);
            }
            else
            {
                b.Valid();
            }
        }

        return b.Program;
    }

    /// <summary>A mutable descriptor before it is written.</summary>
    internal sealed class D(ulong addr, uint len, ushort flags)
    {
        public ulong Addr = addr;
        public uint Len = len;
        public ushort Flags = flags;
        public int Index;
    }

    /// <summary>
    /// The descriptors and requests one program is made of, kept for the next program made in
    /// the same <see cref="FuzzProgram"/> (the fuzz loop makes hundreds of thousands a second).
    /// </summary>
    internal sealed class Room
    {
        private readonly List<D> _descs = new();
        private readonly List<Request> _requests = new();
        private int _descsUsed;
        private int _requestsUsed;

        /// <summary>Every descriptor and request is free again.</summary>
        public void Reset()
        {
            _descsUsed = 0;
            _requestsUsed = 0;
        }

        public D Desc(ulong addr, uint len, ushort flags)
        {
            if (_descsUsed == _descs.Count)
            {
                _descs.Add(new D(0, 0, 0));
            }

            D d = _descs[_descsUsed++];
            d.Addr = addr;
            d.Len = len;
            d.Flags = flags;
            d.Index = 0;
            return d;
        }

        public Request Request(int device, int queue)
        {
            if (_requestsUsed == _requests.Count)
            {
                _requests.Add(new Request());
            }

            Request req = _requests[_requestsUsed++];
            req.Reset(device, queue);
            return req;
        }
    }

    private sealed class Builder(FuzzLayout l, FuzzRandom r, FuzzProgram program, Room room)
    {
        private readonly int[] _cursor = new int[16];

        public FuzzProgram Program => program;

        private int Dev => l.Target;

        private int NumQ => l.Num;

        /// <summary>A well-formed request on the target (or, now and then, on the spare disk).</summary>
        public void Valid()
        {
            int dev = Dev;
            if (r.OneIn(4))
            {
                dev = l.Spare;
            }

            int q = PickQueue(dev);
            Request req = Template(dev, q);
            Emit(req);
        }

        public void Hostile(FuzzClass cls)
        {
            int dev = Dev;
            int q = PickQueue(dev);
            Request req;
            switch (cls)
            {
                case FuzzClass.Loop:
                    {
                        req = Template(dev, q);
                        int depth = r.OneIn(4) ? NumQ : r.OneIn(2) ? r.Range(1, 4) : r.Range(1, NumQ);
                        Extend(req, depth);
                        D last = req.Descs[^1];
                        last.Flags |= Next;
                        req.LoopTo = r.Next(req.Descs.Count);
                        break;
                    }

                case FuzzClass.NextRange:
                    {
                        req = Template(dev, q);
                        D d = req.Descs[r.Next(req.Descs.Count)];
                        d.Flags |= Next;
                        req.ForcedNext = (req.Descs.IndexOf(d), (ushort)(r.OneIn(3) ? NumQ : r.Range(NumQ, 65535)));
                        break;
                    }

                case FuzzClass.HeadRange:
                    req = Template(dev, q);
                    req.Head = (ushort)(r.OneIn(3) ? NumQ : r.Range(NumQ, 65535));
                    break;
                case FuzzClass.AvailJump:
                    req = Template(dev, q);
                    req.AvailAfter = (ushort)r.Pick<int>([NumQ + 1, NumQ + 1 + r.Next(1000), 65535, 65536 - r.Range(1, NumQ), 0x8000, NumQ, r.Next(65536)]);
                    break;
                case FuzzClass.AddrEdge:
                    {
                        req = Template(dev, q);
                        D d = req.Descs[r.Next(req.Descs.Count)];
                        ulong lim = l.Limit;
                        uint len = (uint)r.Range(1, 64);
                        (d.Addr, d.Len) = r.Next(11) switch
                        {
                            0 => (0UL, (uint)r.Next(64)),
                            1 => (lim - 1, 1u),
                            2 => (lim - 1, 2u),
                            3 => (lim - len, len),
                            4 => (lim, 0u),
                            5 => (lim - len, len + 1),
                            6 => ((1UL << 32) - len, len),
                            7 => (lim - 1, uint.MaxValue),
                            8 => (ulong.MaxValue - (ulong)r.Next(16), len),
                            9 => ((1UL << 32) + (ulong)r.Next(0x4000), len),
                            _ => ((ulong)r.Next((int)lim), uint.MaxValue - (uint)r.Next(16)),
                        };
                        break;
                    }

                case FuzzClass.LenZero:
                    {
                        req = Template(dev, q);
                        foreach (D d in req.Descs)
                        {
                            if (r.OneIn(2))
                            {
                                d.Len = 0;
                            }
                        }

                        req.Descs[r.Next(req.Descs.Count)].Len = 0;
                        break;
                    }

                case FuzzClass.ReadableAfterWritable:
                    {
                        req = Template(dev, q);
                        Extend(req, Math.Max(2, req.Descs.Count));
                        int i = r.Next(req.Descs.Count - 1);
                        req.Descs[i].Flags |= Write;
                        req.Descs[r.Range(i + 1, req.Descs.Count - 1)].Flags &= unchecked((ushort)~Write);
                        break;
                    }

                case FuzzClass.WrongDirection:
                    {
                        req = Template(dev, q);
                        int mode = r.Next(3);
                        foreach (D d in req.Descs)
                        {
                            if (mode == 0)
                            {
                                d.Flags ^= Write;
                            }
                            else if (mode == 1)
                            {
                                d.Flags |= Write;
                            }
                            else
                            {
                                d.Flags &= unchecked((ushort)~Write);
                            }
                        }

                        break;
                    }

                case FuzzClass.UnknownFlags:
                    {
                        req = Template(dev, q);
                        foreach (D d in req.Descs)
                        {
                            if (r.OneIn(2))
                            {
                                d.Flags |= (ushort)(r.Pick<int>([4, 8, 0x10, 0x80, 0x100, 0x8000, 0xfffc]) & ~3);
                            }
                        }

                        break;
                    }

                case FuzzClass.FullChain:
                    req = Template(dev, q);
                    Extend(req, r.OneIn(4) ? NumQ - r.Next(3) : NumQ);
                    break;
                case FuzzClass.BlockHeader:
                    req = Template(dev, q, header: false);
                    BendBlockHeader(req);
                    break;
                case FuzzClass.BlockSector:
                    req = Template(dev, q, sector: r.Pick<ulong>([((ulong)long.MaxValue / 512) + 1, ((ulong)long.MaxValue / 512) + 1 + (ulong)r.Next(1 << 20), ulong.MaxValue, 1UL << 55, (ulong)long.MaxValue / 512, 1UL << 63, (1UL << 54) - 1]));
                    break;
                case FuzzClass.BlockPastEnd:
                    req = Template(dev, q, type: r.OneIn(4) ? 0u : 1u, sector: (ulong)r.Range(6, 10), dataLens: [r.Pick<uint>([512, 100, 101, 612, 0, 1, 1024])]);
                    break;
                case FuzzClass.BlockScsi:
                    req = Template(dev, q, type: 2u | (r.OneIn(2) ? 1u : 0u) | (r.OneIn(3) ? 0x8000_0000u : 0u));
                    break;
                case FuzzClass.BlockBarrier:
                    req = Template(dev, q, type: 0x8000_0000u | (uint)r.Next(2) | (r.OneIn(4) ? 2u : 0u));
                    break;
                case FuzzClass.NetHeader:
                    req = Template(dev, q);
                    BendNetHeader(req);
                    break;
                case FuzzClass.Overfill:
                    req = Template(dev, q);
                    req.Publishes = NumQ + r.Range(-2, 3);
                    break;
                case FuzzClass.RxWithheld:
                    {
                        q = 0;
                        int waiting = r.Range(1, 3);
                        for (int i = 0; i < waiting; i++)
                        {
                            Add(new FuzzStep(StepKind.HostInput, (byte)dev, Length: InputLength(dev)));
                        }

                        req = Template(dev, q);
                        req.After.Clear();
                        if (r.OneIn(2))
                        {
                            Emit(req);
                            req = Template(dev, q);
                            req.After.Clear();
                        }

                        break;
                    }

                case FuzzClass.PageRewrite:
                    {
                        req = Template(dev, q);
                        int rewrites = r.Range(1, 3);
                        for (int i = 0; i < rewrites; i++)
                        {
                            int target = r.OneIn(3) ? r.Next(l.Count) : dev;
                            ulong addr = r.Next(4) switch
                            {
                                0 => l.Status(target),
                                1 => l.VqConfig(target, r.Next(l.Queues(target))) + (ulong)r.Next(8),
                                2 => l.Features(target) + (ulong)r.Next(Math.Max(1, 2 * l.FeatureLength(target))),
                                _ => l.Descriptor(target) + (ulong)r.Next(5),
                            };
                            byte value = r.Pick<byte>([0, 1, 3, 7, 0x80, 0xff, (byte)r.Next(256)]);
                            req.Before.Add(new FuzzStep(StepKind.Poke, Address: addr, Data: [value]));
                        }

                        break;
                    }

                case FuzzClass.ResetInFlight:
                    req = Template(dev, q);
                    req.Defer = true;
                    req.After.Add(new FuzzStep(StepKind.Reset, (byte)dev));
                    if (r.OneIn(2))
                    {
                        req.After.Add(new FuzzStep(StepKind.Worker, (byte)dev));
                    }

                    break;
                case FuzzClass.BadNotify:
                    {
                        ulong lim = l.Limit;
                        ulong addr = r.Next(7) switch
                        {
                            0 => lim + (ulong)r.Next(3),
                            1 => uint.MaxValue - (uint)r.Next(4),
                            2 => l.PageAddress + (ulong)r.Range(1, 4095),
                            3 => l.Ring(dev, q) + 4096 + (ulong)r.Next(4096),
                            4 => l.Ring(dev, q) + (ulong)r.Range(1, 4095),
                            5 => (ulong)r.Next((int)l.Ram),
                            _ => (ulong)r.Next(int.MaxValue),
                        };
                        Add(new FuzzStep(StepKind.Notify, Address: addr));
                        return;
                    }

                case FuzzClass.EarlyNoNul:
                    {
                        int n = r.OneIn(2) ? r.Range(1, 64) : r.Range(1, 2048);
                        ulong addr = l.Limit - (ulong)n;
                        Add(new FuzzStep(StepKind.Fill, Address: addr, Length: (uint)n, Value: (byte)r.Range(1, 255)));
                        Add(new FuzzStep(StepKind.Notify, Address: addr + (ulong)r.Next(n)));
                        return;
                    }

                default:
                    req = Template(dev, q);
                    break;
            }

            Emit(req);
        }

        private int PickQueue(int dev) => l.Queues(dev) == 1 ? 0 : r.Next(l.Queues(dev));

        private uint InputLength(int dev) => l.Kind(dev) == FuzzDevice.Net ? (uint)r.Range(14, 200) : (uint)r.Range(1, 40);

        /// <summary>A well-formed request for a queue, as the 2.6.25 drivers make it.</summary>
        private Request Template(int dev, int q, bool header = true, uint? type = null, ulong? sector = null, uint[]? dataLens = null)
        {
            Request req = room.Request(dev, q);
            switch (l.Kind(dev))
            {
                case FuzzDevice.Console when q == 1:
                    for (int i = r.Range(1, 3); i > 0; i--)
                    {
                        uint len = (uint)r.Range(1, 64);
                        ulong a = Alloc(len, 1);
                        req.Before.Add(new FuzzStep(StepKind.Fill, Address: a, Length: len, Value: (byte)'x'));
                        req.Descs.Add(room.Desc(a, len, 0));
                    }

                    break;
                case FuzzDevice.Console:
                    for (int i = r.Range(1, 2); i > 0; i--)
                    {
                        uint len = (uint)r.Range(1, 64);
                        req.Descs.Add(room.Desc(Alloc(len, 1), len, Write));
                    }

                    req.After.Add(new FuzzStep(StepKind.HostInput, (byte)dev, Length: InputLength(dev)));
                    break;
                case FuzzDevice.Net when q == 1:
                    req.Descs.Add(room.Desc(Alloc(10, 2), 10, 0));
                    for (int i = r.Range(1, 2); i > 0; i--)
                    {
                        uint len = (uint)r.Range(14, 128);
                        req.Descs.Add(room.Desc(Alloc(len, 1), len, 0));
                    }

                    break;
                case FuzzDevice.Net:
                    req.Descs.Add(room.Desc(Alloc(10, 2), 10, Write));
                    for (int i = r.Range(1, 2); i > 0; i--)
                    {
                        uint len = (uint)r.Range(1, 200);
                        req.Descs.Add(room.Desc(Alloc(len, 1), len, Write));
                    }

                    req.After.Add(new FuzzStep(StepKind.HostInput, (byte)dev, Length: InputLength(dev)));
                    break;
                default:
                    {
                        uint t = type ?? (uint)r.Next(2);
                        ulong s = sector ?? (ulong)r.Next(9);
                        ulong h = Alloc(16, 4);
                        var hdr = new byte[16];
                        BinaryPrimitives.WriteUInt32LittleEndian(hdr, t);
                        BinaryPrimitives.WriteUInt64LittleEndian(hdr.AsSpan(8), s);
                        req.Before.Add(new FuzzStep(StepKind.Poke, Address: h, Data: hdr));
                        if (header)
                        {
                            req.Descs.Add(room.Desc(h, 16, 0));
                        }
                        else
                        {
                            req.Header = h;
                        }

                        bool isWrite = (t & 1) != 0 && (t & 2) == 0;
                        uint[] lens = dataLens ?? Enumerable.Range(0, r.Next(3)).Select(_ => r.OneIn(3) ? (uint)r.Range(1, 700) : 512u).ToArray();
                        foreach (uint len in lens)
                        {
                            req.Descs.Add(room.Desc(Alloc(len, 1), len, isWrite ? (ushort)0 : Write));
                        }

                        req.Descs.Add(room.Desc(Alloc(1, 1), 1, Write));
                        if (r.OneIn(3))
                        {
                            req.Defer = true;
                            req.After.Add(new FuzzStep(StepKind.Worker, (byte)dev));
                        }

                        break;
                    }
            }

            return req;
        }

        private void BendBlockHeader(Request req)
        {
            ulong h = req.Header;
            switch (r.Next(6))
            {
                case 0:
                    req.Descs.Insert(0, room.Desc(h, r.Pick<uint>([0, 1, 8, 12, 15, 17, 32]), 0));
                    break;
                case 1:
                    req.Descs.Insert(0, room.Desc(h + (ulong)r.Range(1, 3), 16, 0));
                    break;
                case 2:
                    {
                        uint first = (uint)r.Range(1, 15);
                        req.Descs.Insert(0, room.Desc(h + first, 16 - first, 0));
                        req.Descs.Insert(0, room.Desc(h, first, 0));
                        break;
                    }

                case 3:
                    req.Descs.Insert(0, room.Desc(h, 16, 0));
                    req.Descs[^1].Len = r.Pick<uint>([0, 2, 16]);
                    break;
                case 4:
                    {
                        req.Descs.Insert(0, room.Desc(h, 16, 0));
                        D status = req.Descs[^1];
                        status.Len = 1;
                        req.Descs.Insert(req.Descs.Count - 1, room.Desc(status.Addr + 1, 1, Write));
                        break;
                    }

                default:
                    req.Descs.Insert(0, room.Desc(h, 16, 0));
                    req.Descs[^1].Flags &= unchecked((ushort)~Write);
                    break;
            }
        }

        private void BendNetHeader(Request req)
        {
            D h = req.Descs[0];
            switch (r.Next(3))
            {
                case 0:
                    h.Len = r.Pick<uint>([0, 1, 9, 11, 12, 16]);
                    break;
                case 1:
                    h.Addr |= 1;
                    break;
                default:
                    {
                        uint first = (uint)r.Range(1, 9);
                        var rest = room.Desc(h.Addr + first, 10 - first, h.Flags);
                        h.Len = first;
                        req.Descs.Insert(1, rest);
                        break;
                    }
            }
        }

        /// <summary>Adds descriptors of the last one's direction until the chain is <paramref name="count"/> long.</summary>
        private void Extend(Request req, int count)
        {
            if (req.Descs.Count > count)
            {
                req.Descs.RemoveRange(count, req.Descs.Count - count);
            }

            while (req.Descs.Count < count)
            {
                D last = req.Descs[^1];
                uint len = (uint)r.Range(0, 24);
                req.Descs.Insert(req.Descs.Count - 1, room.Desc(Alloc(len, 1), len, (ushort)(last.Flags & Write)));
            }
        }

        private ulong Alloc(uint len, uint align)
        {
            ulong room = l.Ram - RamStart - Math.Min(len, (uint)(l.Ram - RamStart));
            ulong a = RamStart + (ulong)r.Next((int)room + 1);
            return a & ~(ulong)(align - 1);
        }

        private void Add(FuzzStep s) => program.Steps.Add(s);

        private void Emit(Request req)
        {
            foreach (FuzzStep s in req.Before)
            {
                Add(s);
            }

            int key = (req.Device * 4) + req.Queue;
            int start = _cursor[key] + r.Next(3);
            int n = req.Descs.Count;
            for (int i = 0; i < n; i++)
            {
                req.Descs[i].Index = (start + i) % NumQ;
            }

            _cursor[key] = (start + n) % NumQ;
            for (int i = 0; i < n; i++)
            {
                D d = req.Descs[i];
                ushort flags = d.Flags;
                ushort next = 0;
                if (i < n - 1)
                {
                    flags |= Next;
                    next = (ushort)req.Descs[i + 1].Index;
                }
                else if (req.LoopTo >= 0)
                {
                    flags |= Next;
                    next = (ushort)req.Descs[req.LoopTo].Index;
                }
                else
                {
                    flags &= unchecked((ushort)~Next);
                }

                if (req.ForcedNext.Desc == i)
                {
                    flags |= Next;
                    next = req.ForcedNext.Value;
                }

                Add(FuzzStep.Desc(req.Device, req.Queue, d.Index, d.Addr, d.Len, flags, next));
            }

            ushort head = req.Head ?? (ushort)req.Descs[0].Index;
            for (int i = 0; i < req.Publishes; i++)
            {
                Add(new FuzzStep(StepKind.Publish, (byte)req.Device, (byte)req.Queue, head));
            }

            if (req.AvailAfter is { } idx)
            {
                Add(new FuzzStep(StepKind.AvailIdx, (byte)req.Device, (byte)req.Queue, idx));
            }

            Add(new FuzzStep(req.Defer ? StepKind.KickDefer : StepKind.Kick, (byte)req.Device, (byte)req.Queue));
            foreach (FuzzStep s in req.After)
            {
                Add(s);
            }
        }
    }

    internal sealed class Request
    {
        public int Device { get; private set; }

        public int Queue { get; private set; }

        public List<D> Descs { get; } = new();

        public List<FuzzStep> Before { get; } = new();

        public List<FuzzStep> After { get; } = new();

        public ushort? Head { get; set; }

        public ushort? AvailAfter { get; set; }

        public int Publishes { get; set; }

        public int LoopTo { get; set; }

        public (int Desc, ushort Value) ForcedNext { get; set; }

        public bool Defer { get; set; }

        public ulong Header { get; set; }

        /// <summary>A new request for <paramref name="device"/>'s <paramref name="queue"/>: no descriptors, one publish, no bending.</summary>
        public void Reset(int device, int queue)
        {
            Device = device;
            Queue = queue;
            Descs.Clear();
            Before.Clear();
            After.Clear();
            Head = null;
            AvailAfter = null;
            Publishes = 1;
            LoopTo = -1;
            ForcedNext = (-1, 0);
            Defer = false;
            Header = 0;
        }
    }
}
