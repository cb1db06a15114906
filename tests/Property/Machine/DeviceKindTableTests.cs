using LguestSim.Backends.Simulated.HostSide;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Memory;
using LguestSim.Tests.Property.Block;
using Xunit;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Tests.Property.Machine;

/// <summary>The table of device kinds (engine) and its other half, the simulated guest's driver table.</summary>
public sealed class DeviceKindTableTests
{
    private const ulong Mem = 1UL << 20;

    public static TheoryData<string> KindNames()
    {
        var data = new TheoryData<string>();
        foreach (DeviceKind k in DeviceKinds.All)
        {
            data.Add(k.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void EachRow_BuildsADeviceWhoseRecordOnThePageCarriesItsTypeId(string name)
    {
        Assert.True(DeviceKinds.TryFind(name, out DeviceKind? kind));
        var page = new DevicePage(new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem));

        VirtioDevice device = kind.Build(page, PortFor(kind));

        Assert.Equal(name, device.Name);
        Assert.Equal(kind.Type, device.Record.Type);

        // The guest's view: the type byte of the record's lguest_device_desc on the page.
        Assert.Equal((byte)kind.Type, page.Memory.ReadU8(device.Record.DescriptorAddress));
        (device as IDisposable)?.Dispose();
    }

    [Fact]
    public void Rows_HaveDistinctNamesAndTypeIds()
    {
        Assert.Equal(DeviceKinds.All.Count, DeviceKinds.All.Select(k => k.Name).Distinct().Count());
        Assert.Equal(DeviceKinds.All.Count, DeviceKinds.All.Select(k => k.Type).Distinct().Count());
        Assert.DoesNotContain(DeviceKinds.All, k => k.Type == VirtioDeviceType.None);
    }

    [Theory]
    [InlineData("floppy")]
    [InlineData("Console")]
    [InlineData("")]
    public void UnknownWord_NamesNoKind(string word) => Assert.False(DeviceKinds.TryFind(word, out _));

    [Fact]
    public void MachineDevice_WithAnotherKindsPort_IsRefused() =>
        Assert.Throws<ArgumentException>(() => new MachineDevice(DeviceKinds.Block, new MemoryTap(new byte[6])));

    /// <summary>
    /// A port of the wrong type is refused as an argument error naming the parameter, the kind and
    /// both types (the text a harness author reads), not as a failed cast from inside the build.
    /// </summary>
    [Fact]
    public void Build_WithAnotherKindsPort_IsAnArgumentErrorNamingKindAndTypes()
    {
        var page = new DevicePage(new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem));

        ArgumentException e = Assert.Throws<ArgumentException>(() => DeviceKinds.Block.Build(page, new MemoryTap(new byte[6])));

        Assert.Equal("port", e.ParamName);
        Assert.StartsWith($"a block device is built over an {nameof(IBlockStore)}, not a {nameof(MemoryTap)}", e.Message);
    }

    /// <summary>The list of kinds that messages show (an unknown device word in a scenario).</summary>
    [Fact]
    public void NameList_ReadsNetBlockOrConsole() => Assert.Equal("net, block or console", DeviceKinds.NameList);

    [Fact]
    public void EveryKind_HasASimulatedGuestDriver_ProbedInLinkOrder()
    {
        foreach (DeviceKind k in DeviceKinds.All)
        {
            Assert.NotNull(GuestDrivers.Find(k.Type));
        }

        // 2.6.25 registers virtio_console, then virtio_blk, then virtio_net.
        Assert.Equal([VirtioDeviceType.Console, VirtioDeviceType.Block, VirtioDeviceType.Net], GuestDrivers.ProbeOrder.Select(d => d.Type));
    }

    [Theory]
    [InlineData("boot\nreset floppy\n", 2)]
    [InlineData("net\nboot\nkick-early rng vq=0\n", 3)]
    [InlineData("boot\nring.kick Block 0\n", 2)]
    [InlineData("floppy\nboot\n", 1)]
    public void Scenario_UnknownDeviceWord_IsAParseErrorAtFileAndLine(string text, int line)
    {
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.Parse(text, "x.scenario", "x"));
        Assert.StartsWith($"x.scenario:{line}: unknown ", e.Message);
    }

    [Fact]
    public void Scenario_DeviceLines_NameTheTablesRows_ConsoleLast()
    {
        Scenario s = ScenarioParser.Parse("console\nblock\nnet\nboot\n", "x.scenario", "x");
        Assert.Equal([DeviceKinds.Block, DeviceKinds.Net, DeviceKinds.Console], s.Devices.Select(d => d.Kind));
    }

    [Fact]
    public void LauncherCommandLine_DeviceOptions_NameTheTablesRows()
    {
        LauncherCommandLine cl = LauncherCommandLine.Parse(["--block=a.img", "--tunnet=10.0.0.1", "64", "vmlinux"]);
        Assert.Equal([DeviceKinds.Block, DeviceKinds.Net], cl.Devices.Select(d => d.DeviceKind));
    }

    private static object PortFor(DeviceKind kind)
    {
        if (kind.PortType == typeof(IConsolePort))
        {
            return new MemoryConsolePort(new T());
        }

        if (kind.PortType == typeof(ITap))
        {
            return new MemoryTap([0x02, 0, 0, 0, 0, 1]);
        }

        if (kind.PortType == typeof(IBlockStore))
        {
            return new MemoryBlockStore(new byte[4096]);
        }

        throw new InvalidOperationException($"no test port for {kind.PortType.Name}: add one for the new kind");
    }
}
