using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Channel;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Machine;
using LguestSim.Tests.Property.Block;
using Xunit;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Tests.Property.Machine;

/// <summary>What <see cref="Engine.Machine.Machine.Run"/> promises about threads and the order of the end.</summary>
public sealed class MachineTests
{
    private const ulong Mem = 16UL << 20;

    [Fact]
    public void Run_InitializeRunAndEveryInterrupt_OnTheCallersThread_ThenWorkersChannelWakerInThatOrder()
    {
        var log = new List<string>();
        Thread? worker = null;
        RecordingChannel? channel = null;
        MachineOutcome? outcome = null;
        int callerId = 0;

        // A thread of our own, so "the caller's thread" is not one the test runner reuses.
        var caller = new Thread(() =>
        {
            callerId = Environment.CurrentManagedThreadId;
            outcome = Engine.Machine.Machine.Run(new MachineDescription
            {
                MemorySize = Mem,
                Devices = [new MachineDevice(DeviceKinds.Block, new MemoryBlockStore(new byte[64 * 512]))],
                WorkerStarting = () => worker = Thread.CurrentThread,
                CreateChannel = setup =>
                {
                    void Guest(IGuestCpu cpu)
                    {
                        var context = new GuestContext(new LocalGuestPhysicalMemory(setup.Memory), Mem, cpu, new T(), Mem);
                        var bus = new LguestBus(context, setup.Page.Address);
                        bus.Scan();
                        BusDevice device = bus.Devices[0];
                        device.AddStatus(VirtioStatus.Driver);

                        // The probe reads the partition table: a kick, the worker, an irq.
                        new BlockDriver(context, device).Probe();
                        device.AddStatus(VirtioStatus.DriverOk);
                    }

                    channel = new RecordingChannel(new SimulatedChannel(Guest) { HaltTimeout = TimeSpan.FromSeconds(20) }, log, () => worker);
                    return channel;
                },
                CreateWaker = c => new RecordingWaker(new Waker(c), log),
            });
        });
        caller.Start();
        caller.Join();

        Assert.NotNull(outcome);
        Assert.Equal(LauncherExitKind.GuestDied, outcome.Exit.Kind);
        Assert.NotNull(channel);
        Assert.Equal([callerId], channel.InitializeThreads);
        Assert.NotEmpty(channel.RunThreads);
        Assert.All(channel.RunThreads, id => Assert.Equal(callerId, id));
        Assert.NotEmpty(channel.InterruptThreads);
        Assert.All(channel.InterruptThreads, id => Assert.Equal(callerId, id));

        // The block worker had finished when the channel went, and the Waker went last.
        Assert.NotNull(worker);
        Assert.Equal(["channel disposed (worker stopped: True)", "waker disposed"], log);
    }

    [Fact]
    public void Run_HostFailureUnderTheRun_EndsAsHostError_AndStillTakesTheMachineDown()
    {
        var log = new List<string>();
        var channel = new FailingChannel(log);
        MachineOutcome outcome = Engine.Machine.Machine.Run(new MachineDescription
        {
            MemorySize = Mem,
            Devices = [new MachineDevice(DeviceKinds.Block, new MemoryBlockStore(new byte[512]))],
            CreateChannel = _ => channel,
            CreateWaker = c => new RecordingWaker(new Waker(c), log),
        });

        Assert.Equal(LauncherExitKind.HostError, outcome.Exit.Kind);
        Assert.Equal(DeviceKinds.Block.Type, Assert.Single(outcome.Setup.Devices).Record.Type);
        Assert.Equal(["channel disposed", "waker disposed"], log);
    }

    [Fact]
    public void Run_PfnLimitIsGuestLimitOverPageSize_AfterTheDevicesTookTheirPages()
    {
        var log = new List<string>();
        RecordingChannel? channel = null;
        MachineOutcome outcome = Engine.Machine.Machine.Run(new MachineDescription
        {
            MemorySize = Mem,
            Devices = [new MachineDevice(DeviceKinds.Block, new MemoryBlockStore(new byte[512]))],
            CreateChannel = _ => channel = new RecordingChannel(new SimulatedChannel(_ => { }), log, () => null),
        });

        Assert.Equal(LauncherExitKind.GuestDied, outcome.Exit.Kind);
        Assert.True(outcome.Setup.Page.GuestLimit > Mem);
        Assert.Equal((uint)(outcome.Setup.Page.GuestLimit / LguestLayout.PageSize), channel!.PfnLimit);
    }

    /// <summary>Passes everything to a real channel and writes down who called what.</summary>
    private sealed class RecordingChannel(ILguestChannel inner, List<string> log, Func<Thread?> worker) : ILguestChannel
    {
        public List<int> InitializeThreads { get; } = new();

        public List<int> RunThreads { get; } = new();

        public List<int> InterruptThreads { get; } = new();

        public uint PfnLimit { get; private set; }

        public void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint)
        {
            InitializeThreads.Add(Environment.CurrentManagedThreadId);
            PfnLimit = pfnLimit;
            inner.Initialize(pfnLimit, pageDirectory, entryPoint);
        }

        public ChannelEvent Run()
        {
            RunThreads.Add(Environment.CurrentManagedThreadId);
            return inner.Run();
        }

        public bool Interrupt(uint irq)
        {
            InterruptThreads.Add(Environment.CurrentManagedThreadId);
            return inner.Interrupt(irq);
        }

        public void Break() => inner.Break();

        public void ReleaseBreak() => inner.ReleaseBreak();

        public void Dispose()
        {
            if (worker() is { } w)
            {
                log.Add($"channel disposed (worker stopped: {!w.IsAlive})");
            }

            inner.Dispose();
        }
    }

    /// <summary>A channel whose run fails as a host error would (a tap read ≤ 0 under the Launcher).</summary>
    private sealed class FailingChannel(List<string> log) : ILguestChannel
    {
        public void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint)
        {
        }

        public ChannelEvent Run() => throw new LguestHostException("read /dev/lguest", 5);

        public bool Interrupt(uint irq) => true;

        public void Break()
        {
        }

        public void ReleaseBreak()
        {
        }

        public void Dispose() => log.Add("channel disposed");
    }

    private sealed class RecordingWaker(IWaker inner, List<string> log) : IWaker
    {
        public void Add(InputSource source) => inner.Add(source);

        public void Remove(InputSource source) => inner.Remove(source);

        public void Dispose()
        {
            log.Add("waker disposed");
            inner.Dispose();
        }
    }
}
