using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Channel;
using LguestSim.Engine.Devices;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Memory;
using LguestSim.Tests.Property.Block;
using LguestSim.Tests.Property.Loader;
using LguestSim.Tests.Property.RunLoop;
using Xunit;

namespace LguestSim.Tests.Property.Machine;

/// <summary>What <see cref="Engine.Machine.Machine.Assemble"/> builds, and what it takes down when building fails half-way.</summary>
public sealed class AssembleTests
{
    private const ulong Mem = 16UL << 20;

    /// <summary><c>LHREQ_INITIALIZE</c> carries the page directory and entry point the kernel load produced.</summary>
    [Fact]
    public void WithAKernel_TheChannelIsInitializedWithTheLoadersPageDirectoryAndEntry()
    {
        var channel = new ScriptedChannel();
        using AssembledMachine machine = Engine.Machine.Machine.Assemble(new MachineDescription
        {
            MemorySize = Mem,
            Devices = [],
            Kernel = new KernelBoot(LoaderFixtures.ElfPath, null, ["console=hvc0"]),
            CreateChannel = _ => channel,
            CreateWaker = _ => new NoWaker(),
        });

        Assert.NotNull(machine.Setup.Boot);

        // The ELF fixture's entry; the page directory just under the top of RAM (no initrd).
        Assert.Equal(0x100000u, channel.Initialized.Entry);
        Assert.Equal(machine.Setup.Boot.Entry, channel.Initialized.Entry);
        Assert.Equal(machine.Setup.Boot.PageDirectory, channel.Initialized.PageDirectory);
        Assert.InRange(channel.Initialized.PageDirectory, 1u, (uint)Mem - 4096);
    }

    /// <summary>
    /// Without a kernel the guest finds an empty command line, even in memory an earlier run
    /// left dirty (the fuzzer reuses its backings).
    /// </summary>
    [Fact]
    public void WithoutAKernel_OverDirtyMemory_TheCommandLineIsEmpty()
    {
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        memory.GetSpan(0, Mem).Fill((byte)'x');
        using AssembledMachine machine = Engine.Machine.Machine.Assemble(new MachineDescription
        {
            MemorySize = Mem,
            Memory = memory,
            Devices = [],
            CreateChannel = _ => new ScriptedChannel(),
            CreateWaker = _ => new NoWaker(),
        });

        Assert.Null(machine.Setup.Boot);
        Assert.Equal(0, memory.ReadU8(BootParams.CommandLineAddress));
    }

    [Fact]
    public void MemoryWhoseLimitIsNotMem_IsRefused_NamingBoth()
    {
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem / 2);

        ArgumentException e = Assert.Throws<ArgumentException>(() => Engine.Machine.Machine.Assemble(new MachineDescription
        {
            MemorySize = Mem,
            Memory = memory,
            Devices = [],
            CreateChannel = _ => throw new InvalidOperationException("no channel for a refused machine"),
        }));

        Assert.Equal("description", e.ParamName);
        Assert.Contains($"0x{Mem / 2:x}", e.Message);
        Assert.Contains($"0x{Mem:x}", e.Message);
    }

    /// <summary>A channel that refuses to initialize (the kernel said no) is closed, not leaked, and the refusal reaches the caller.</summary>
    [Fact]
    public void ChannelThatRefusesToInitialize_IsClosed()
    {
        var channel = new ScriptedChannel { RefuseInitialize = true };

        Assert.Throws<LguestHostException>(() => Engine.Machine.Machine.Assemble(new MachineDescription
        {
            MemorySize = Mem,
            Devices = [new MachineDevice(DeviceKinds.Block, new MemoryBlockStore(new byte[512]))],
            CreateChannel = _ => channel,
            CreateWaker = _ => throw new InvalidOperationException("no Waker for a channel that refused"),
        }));

        Assert.True(channel.Disposed);
    }

    /// <summary>A failure after the Waker exists takes down the channel, then the Waker, as a finished run would.</summary>
    [Fact]
    public void FailureAfterTheWakerExists_ClosesTheChannelThenTheWaker()
    {
        var log = new List<string>();
        var channel = new ScriptedChannel { Log = log };

        Assert.Throws<InvalidOperationException>(() => Engine.Machine.Machine.Assemble(new MachineDescription
        {
            MemorySize = Mem,
            Devices = [],
            CreateChannel = _ => channel,
            CreateWaker = _ => new NoWaker(log),
            CreateObserver = _ => throw new InvalidOperationException("observer"),
        }));

        Assert.Equal(["channel disposed", "waker disposed"], log);
    }

    private sealed class NoWaker(List<string>? log = null) : IWaker
    {
        public void Add(InputSource source)
        {
        }

        public void Remove(InputSource source)
        {
        }

        public void Dispose() => log?.Add("waker disposed");
    }
}
