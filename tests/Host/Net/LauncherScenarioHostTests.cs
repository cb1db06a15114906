using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Emulator.HostSide;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Tap;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// <see cref="LauncherScenarioHost"/>, the scenario's host side played for real: console input
/// through a FIFO (as the Launcher's stdin would be), frames through a real tap in a namespace
/// of the test's own, and <c>host.net.read-error</c> refused with a clear message.
/// </summary>
public sealed class LauncherScenarioHostTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [NetFact]
    public void NetVerbs_ReachTheTapsReader_AndTakeWhatItWrote_ReadErrorDeletesTheTap()
    {
        using NetNamespace ns = NetNamespace.Create();
        TunTap? tap = null;
        LauncherScenarioHost? host = null;
        NamespaceThread.Run(ns, () =>
        {
            tap = TunTap.Open(TunNetArgument.Parse("169.254.32.1"), "lgsh%d");
            host = LauncherScenarioHost.Open(null, [tap.Name], TimeSpan.FromSeconds(5));
        });

        using (tap!)
        using (host!)
        {
            Assert.Equal(1, host!.NetCount);
            var memory = new ManagedGuestMemory(8192);

            byte[] injected = PacketSocketTests.Frame(tap!.HardwareAddress.ToArray(), 0x30, 60);
            host.InjectFrame(0, injected);
            Assert.True(PacketSocketTests.WaitReady(tap.Input, TimeSpan.FromSeconds(5)));
            int n = tap.Read(memory, [new GuestBuffer(0, 2048)]);
            Assert.Equal(injected, memory.GetSpan(0, (ulong)n).ToArray());

            byte[] sent = PacketSocketTests.Frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x40, 46);
            memory.Write(4096, sent);
            tap.Write(memory, [new GuestBuffer(4096, (uint)sent.Length)]);
            Assert.True(host.TryTakeFrame(0, out byte[] taken));
            Assert.Equal(sent, taken);

            Assert.Throws<ScenarioHostException>(() => host.InjectFrame(1, injected));
            var e = Assert.Throws<ScenarioHostException>(() => host.FailNextRead(0, 0));
            Assert.Equal("cannot be played on a real tap: its reads never return 0 bytes", e.Message);

            // A read error is played by deleting the tap interface: the tap file's next read fails (EBADFD).
            NamespaceThread.Run(ns, () => host.FailNextRead(0, -5));
            Assert.Equal(-77, tap.Read(memory, [new GuestBuffer(0, 2048)]));
        }
    }

    [Fact]
    public async Task ConsoleVerbs_WriteTheFifo_ThenCloseItToEndOfFile()
    {
        string fifo = Path.Combine(_dir, "stdin");
        Command.Check("mkfifo", fifo);

        // Opened read-write at start-up: neither this open nor the reader's (the Launcher's stdin) blocks.
        using LauncherConsoleInput input = LauncherConsoleInput.Open(fifo);
        Task<byte[]> reader = Task.Run(() =>
        {
            using var stdin = new FileStream(fifo, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            using var all = new MemoryStream();
            stdin.CopyTo(all);
            return all.ToArray();
        });

        using LauncherScenarioHost host = LauncherScenarioHost.Open(input, []);
        Assert.Equal(0, host.NetCount);
        host.TypeConsole("hello\n"u8);
        host.TypeConsole([0x03]);
        await Task.Delay(200);
        Assert.False(reader.IsCompleted, "the reader saw end of file before host.console.eof");
        host.CloseConsoleInput();

        byte[] read = await reader.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([.. "hello\n"u8, 0x03], read);
        Assert.True(input.IsClosed);

        // Typing after end of file goes nowhere, as into the simulator's closed console input.
        host.TypeConsole("late"u8);
    }

    [Fact]
    public void NoConsoleInputGiven_HostTypeFailsClearly()
    {
        using LauncherScenarioHost host = LauncherScenarioHost.Open(null, []);
        var e = Assert.Throws<ScenarioHostException>(() => host.TypeConsole("x"u8));
        Assert.Equal("needs a console input, and none was given", e.Message);
    }

    [Fact]
    public void TapInterfaces_AreTheTunFlagsTaps_InIfindexOrder()
    {
        string sys = Path.Combine(_dir, "net");
        void Interface(string name, int index, string? tunFlags)
        {
            string d = Directory.CreateDirectory(Path.Combine(sys, name)).FullName;
            File.WriteAllText(Path.Combine(d, "ifindex"), $"{index}\n");
            if (tunFlags is not null)
            {
                File.WriteAllText(Path.Combine(d, "tun_flags"), tunFlags + "\n");
            }
        }

        Interface("lo", 1, null);
        Interface("tapb", 9, "0x1002");
        Interface("tun0", 4, "0x1001");
        Interface("tapa", 5, "0x1002");
        Interface("eth0", 2, null);

        Assert.Equal(["tapa", "tapb"], TapInterfaces.List(sys));
    }
}
