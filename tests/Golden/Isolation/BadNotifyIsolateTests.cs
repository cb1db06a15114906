using LguestSim.Engine;
using LguestSim.Engine.Devices;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Xunit;

namespace LguestSim.Tests.Golden.Isolation;

/// <summary>A notify at or above guest_limit belongs to no device: fatal in exit mode, a warning and nothing else in isolate mode.</summary>
public sealed class BadNotifyIsolateTests
{
    private const ulong Mem = 1 << 20;

    [Fact]
    public void BadNotify_ExitMode_IsTheBadNotifyFault()
    {
        (Launcher launcher, Recorder recorder) = Create(GuestErrorMode.Exit);
        GuestFaultException e = Assert.Throws<GuestFaultException>(() => launcher.HandleOutput(0xffff_f000));
        Assert.Equal(GuestFault.BadNotify, e.Fault);
        Assert.Equal(0, recorder.Warnings);
    }

    [Fact]
    public void BadNotify_IsolateMode_IsOneWarning_AndNoIsolation()
    {
        (Launcher launcher, Recorder recorder) = Create(GuestErrorMode.Isolate);
        launcher.HandleOutput(0xffff_f000);
        launcher.HandleOutput((uint)Mem + (256 * 4096));
        Assert.Equal(2, recorder.Warnings);
        Assert.Equal(0, recorder.Isolations);
    }

    private static (Launcher, Recorder) Create(GuestErrorMode mode)
    {
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        var page = new DevicePage(memory);
        var recorder = new Recorder();
        return (new Launcher(null!, page, [], new NoWaker(), recorder) { GuestErrors = mode }, recorder);
    }

    private sealed class NoWaker : IWaker
    {
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

    private sealed class Recorder : ILauncherObserver
    {
        public int Warnings { get; private set; }

        public int Isolations { get; private set; }

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
        }

        public void OnIsolated(VirtioDevice device, GuestFaultException fault) => Isolations++;

        public void OnWarning(string message) => Warnings++;
    }
}
