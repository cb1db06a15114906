using System.Diagnostics;
using System.Text;
using Xunit;
using static LguestSim.Tests.Host.Lgdev.LgFile;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>One <c>lguestsim lgdev</c> for the ABI tests; each test opens its own guest.</summary>
public sealed class LgdevServerFixture : IDisposable
{
    private readonly Lazy<LgdevServer> _server = new(() => new LgdevServer());

    /// <summary>The server, started on first use (so skipped tests start nothing).</summary>
    public LgdevServer Server => _server.Value;

    public void Dispose()
    {
        if (_server.IsValueCreated)
        {
            _server.Value.Dispose();
        }
    }
}

/// <summary>
/// The emulated /dev/lguest answers as spec §2 says lg.ko does, seen from a real caller in
/// another process: real threads (the owner is a thread id), pread/pwrite at the vcpu offset,
/// errnos as they reach the caller. The guest behind it is the probe guest.
/// </summary>
public sealed class LgdevAbiTests : IClassFixture<LgdevServerFixture>, IDisposable
{
    private readonly LgdevServerFixture _fixture;
    private readonly IDisposable _watchdog;

    public LgdevAbiTests(LgdevServerFixture fixture)
    {
        _fixture = fixture;
        _watchdog = fixture.Server.Watchdog(TimeSpan.FromSeconds(20));
    }

    public void Dispose() => _watchdog.Dispose();

    private LgFile OpenDevice() => new(_fixture.Server.DevicePath);

    [FuseFact]
    public void Initialize_Returns16_AndASecondIsEbusy()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize());
        Assert.Equal(-EBUSY, lg.Initialize());
    }

    [FuseFact]
    public void Irq_BeforeInitialize_IsEinval_AndRunToo()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(-EINVAL, lg.Irq(1));
        Assert.Equal(-EINVAL, lg.Run());
    }

    [FuseFact]
    public void Irq_32IsEinval_31IsAcceptedWithZero()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize());
        Assert.Equal(-EINVAL, lg.Irq(32));
        Assert.Equal(0, lg.Irq(31));
    }

    [FuseFact]
    public void UnknownRequests_AndGetDma_AreEinval()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize());
        Assert.Equal(-EINVAL, lg.Write(0, 1));
        Assert.Equal(-EINVAL, lg.Write(0, 4, 0));
    }

    [FuseFact]
    public void Offset1_IsEinval_ForRunAndIrq()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize(start: 0x100000));
        Assert.Equal(-EINVAL, lg.Write(1, 2, 1));
        Assert.Equal(-EINVAL, lg.Read(4, offset: 1).Result);
        Assert.Equal(0x100000, lg.Run());
    }

    [FuseFact]
    public void Run_ReturnsTheNotifiedAddress()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize(pgdir: 0x3000, start: 0x100000));
        Assert.Equal(0x100000, lg.Run());
        Assert.Equal(0, lg.Irq(1)); // the probe guest notifies pgdir + 1
        Assert.Equal(0x3001, lg.Run());
    }

    [FuseFact]
    public void NonOwnerThread_GetsEpermForRunAndIrq_ButMayBreak()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize());
        long run = 0, irq = 0;
        var other = new Thread(() =>
        {
            run = lg.Run();
            irq = lg.Irq(1);
        });
        other.Start();
        other.Join();
        Assert.Equal(-EPERM, run);
        Assert.Equal(-EPERM, irq);

        long brk = 1;
        var breaker = new Thread(() => brk = lg.Break(1));
        breaker.Start();
        Assert.Equal(-EAGAIN, lg.Run());
        Assert.Equal(0, lg.Break(0));
        Assert.True(breaker.Join(TimeSpan.FromSeconds(10)), "the break did not return after BREAK 0");
        Assert.Equal(0, brk);
    }

    [FuseFact]
    public void Break_BlocksUntilBreak0_AndEndsTheBlockedRunWithEagain()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize()); // no start notify: the first run blocks, the guest halted
        using var breakReturned = new ManualResetEventSlim();
        long brk = 1;
        var breaker = new Thread(() =>
        {
            Thread.Sleep(200); // let the run block first
            brk = lg.Break(1);
            breakReturned.Set();
        });
        breaker.Start();
        var clock = Stopwatch.StartNew();
        Assert.Equal(-EAGAIN, lg.Run());
        Assert.True(clock.Elapsed > TimeSpan.FromMilliseconds(150), "the run returned before anything broke it");
        Assert.False(breakReturned.Wait(TimeSpan.FromMilliseconds(500)), "BREAK 1 returned before BREAK 0");
        Assert.Equal(0, lg.Break(0));
        Assert.True(breakReturned.Wait(TimeSpan.FromSeconds(10)), "BREAK 1 did not return after BREAK 0");
        Assert.Equal(0, brk);

        // The guest was only broken out: it still obeys.
        Assert.Equal(0, lg.Irq(1));
        Assert.Equal(0x2001, lg.Run());
    }

    [FuseFact]
    public void Panic_IsEnoent_ThenTheReasonIsReadBack_Truncated()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize());
        Assert.Equal(0, lg.Irq(3));
        Assert.Equal(-ENOENT, lg.Run());
        (long n, byte[] reason) = lg.Read(1023);
        Assert.Equal("CRASH: probe guest panic\0", Encoding.UTF8.GetString(reason));
        Assert.Equal(reason.Length, n);
        Assert.Equal("CRASH", Encoding.UTF8.GetString(lg.Read(5).Data));
        Assert.Equal(-ENOENT, lg.Irq(1)); // dead: writes are refused
    }

    [FuseFact]
    public void PowerOff_IsEnoent_WithCrashPowerDown()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize());
        Assert.Equal(0, lg.Irq(2));
        Assert.Equal(-ENOENT, lg.Run());
        Assert.Equal("CRASH: Power down\0", Encoding.UTF8.GetString(lg.Read(1023).Data));
    }

    [FuseFact]
    public void Reboot_IsErestart_AndStaysSo()
    {
        using LgFile lg = OpenDevice();
        Assert.Equal(16, lg.Initialize());
        Assert.Equal(0, lg.Irq(4));
        Assert.Equal(-ERESTART, lg.Run());
        Assert.Equal(-ERESTART, lg.Run());
    }

    [FuseFact]
    public void EachOpen_IsAGuestOfItsOwn()
    {
        using LgFile a = OpenDevice();
        using LgFile b = OpenDevice();
        Assert.Equal(16, a.Initialize(start: 0xa000));
        Assert.Equal(-EINVAL, b.Irq(1));
        Assert.Equal(16, b.Initialize(start: 0xb000));
        Assert.Equal(0xb000, b.Run());
        Assert.Equal(0xa000, a.Run());
    }

    [FuseFact(NeedsGcc = true)]
    public void SignalDuringBlockedRun_IsEintr_AndTheGuestRunsOn()
    {
        string dir = Directory.CreateTempSubdirectory("lguestsim-eintr-").FullName;
        try
        {
            string exe = Path.Combine(dir, "eintr");
            string source = Path.Combine(AppContext.BaseDirectory, "Lgdev", "eintr.c");
            Run("gcc", "-O1", "-pthread", "-o", exe, source);
            string output = Run(exe, _fixture.Server.DevicePath);
            Assert.Equal("initialize 16\nrun -1 Interrupted system call\nirq 0\nrun 4 0x2001\n", output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), $"{program} did not finish");
        Assert.True(p.ExitCode == 0, $"{program} exited {p.ExitCode}: {stderr.Result} {stdout.Result}");
        return stdout.Result;
    }
}

/// <summary>How the server stops: SIGTERM or an unmount from outside, the mount gone either way.</summary>
public sealed class LgdevLifecycleTests
{
    [FuseFact]
    public void Sigterm_UnmountsAndWritesTheTranscript()
    {
        using var server = new LgdevServer();
        using IDisposable watchdog = server.Watchdog(TimeSpan.FromSeconds(20));
        using (var lg = new LgFile(server.DevicePath))
        {
            Assert.Equal(16, lg.Initialize(start: 0x100000));
            Assert.Equal(0x100000, lg.Run());
        }

        (int exit, string stderr) = server.Stop();
        Assert.True(exit == 0, stderr);
        Assert.False(server.IsMounted(), "the mount is still there after SIGTERM");
        string transcript = File.ReadAllText(server.TranscriptPath);
        Assert.Contains("initialize base=0x10000 pfnlimit=0x4000 pgdir=0x2000 start=0x100000", transcript, StringComparison.Ordinal);
        Assert.Contains("run: notify 0x100000", transcript, StringComparison.Ordinal);
        Assert.EndsWith("stopped\n", transcript, StringComparison.Ordinal);
    }

    [FuseFact]
    public void UnmountFromOutside_EndsTheServer()
    {
        using var server = new LgdevServer();
        Assert.Equal(0, LguestSim.Host.Fuse.FuseDevice.Unmount(server.Directory));
        Assert.True(server.WaitForExit(TimeSpan.FromSeconds(10)), "the server still runs after its mount went");
        (int exit, string stderr) = server.Stop();
        Assert.True(exit == 0, stderr);
    }
}
