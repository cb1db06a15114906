using System.Runtime.CompilerServices;
using LguestSim.Engine.Channel;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using Xunit;

namespace LguestSim.Tests.Property.RunLoop;

/// <summary>
/// What the Waker thread (spec §6.2) promises: it breaks the guest for watched inputs that are
/// ready and for no others, sleeps while none is, and once disposed is gone — its thread ended
/// and no source still holding on to it.
/// </summary>
/// <remarks>
/// "Sleeps" is observed, not timed: the Waker's thread is seen blocked (in its wait, not in a
/// break) with no break beyond those expected, each wait bounded by a generous timeout.
/// </remarks>
public sealed class WakerTests
{
    /// <summary>
    /// A background thread (a Launcher that ends without disposing its Waker is not held up by
    /// it), named so that a debugger or <c>top -H</c> shows what it is.
    /// </summary>
    [Fact]
    public void Thread_IsABackgroundThread_NamedLguestWaker()
    {
        var channel = new BreakChannel();
        var source = new TestSource { Ready = true };
        using (var waker = new Waker(channel))
        {
            waker.Add(source);
            channel.WaitForBreaks(1);
            Thread thread = channel.WakerThread!;
            Assert.True(thread.IsBackground);
            Assert.Equal("lguest waker", thread.Name);
            source.Ready = false;
            channel.ReleaseAll();
        }
    }

    /// <summary>Nothing ready: the Waker blocks (rather than spinning on a core) and does not break the guest.</summary>
    [Fact]
    public void NothingReady_TheWakerBlocks_WithoutBreaking()
    {
        var channel = new BreakChannel();
        var source = new TestSource();
        using var waker = new Waker(channel);
        waker.Add(source);

        WaitUntilIdle(channel, source, breaks: 0);

        Assert.Equal(0, channel.Breaks);
    }

    /// <summary>A source removed while the Waker is in a break for it never breaks again, though it stays ready.</summary>
    [Fact]
    public void RemovedSource_NoLongerBreaks_ThoughStillReady()
    {
        var channel = new BreakChannel();
        var source = new TestSource { Ready = true };
        using var waker = new Waker(channel);
        waker.Add(source);
        channel.WaitForBreaks(1);

        // What the run loop does for an input that stops being listened to: remove, then release.
        waker.Remove(source);
        channel.ReleaseOne();

        WaitUntilIdle(channel, source, breaks: 1);
        Assert.Equal(1, channel.Breaks);
        channel.ReleaseAll();
    }

    /// <summary>
    /// Control messages posted during a break are all applied before readiness is looked at
    /// again: the Waker does not break once more for an input the second message drops.
    /// </summary>
    [Fact]
    public void MessagesPostedDuringABreak_AreAllAppliedBeforeReadinessIsLookedAtAgain()
    {
        var channel = new BreakChannel();
        var dropped = new TestSource { Ready = true };
        var added = new TestSource();
        using var waker = new Waker(channel);
        waker.Add(dropped);
        channel.WaitForBreaks(1);

        waker.Add(added);
        waker.Remove(dropped);
        channel.ReleaseOne();

        WaitUntilIdle(channel, added, breaks: 1);
        Assert.Equal(1, channel.Breaks);
        channel.ReleaseAll();
    }

    /// <summary>Dispose returns only once the Waker's thread has ended, even when it was inside a break.</summary>
    [Fact]
    public void Dispose_ReturnsOnlyOnceTheThreadHasEnded()
    {
        var channel = new BreakChannel();
        var source = new TestSource { Ready = true };
        var waker = new Waker(channel);
        waker.Add(source);
        channel.WaitForBreaks(1);
        Thread thread = channel.WakerThread!;

        // The break ends a little later, as the run loop's release (or the channel's close) would.
        using var release = new Timer(_ => channel.ReleaseAll(), null, 200, Timeout.Infinite);
        waker.Dispose();

        Assert.False(thread.IsAlive, "Dispose returned while the Waker's thread was still running");
    }

    /// <summary>
    /// Sources outlive a Waker (stdin, a tap, a block device's completions across machines the
    /// fuzzer builds): once disposed, the Waker is held by none of them — neither those it still
    /// watched nor one it had stopped watching.
    /// </summary>
    [Fact]
    public void DisposedWaker_IsHeldByNoSource()
    {
        var sources = new[] { new TestSource(), new TestSource(), new TestSource() };
        WeakReference waker = UseAndDispose(sources);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(waker.IsAlive, "a source still holds the disposed Waker");
        GC.KeepAlive(sources);
    }

    /// <summary>A callback removed with Unsubscribe is not run when the source signals.</summary>
    [Fact]
    public void InputSource_UnsubscribedCallback_IsNotRun()
    {
        var source = new TestSource();
        int kept = 0;
        int removed = 0;
        Action keep = () => kept++;
        Action remove = () => removed++;
        source.Subscribe(keep);
        source.Subscribe(remove);
        source.Unsubscribe(remove);

        source.Signal();

        Assert.Equal(1, kept);
        Assert.Equal(0, removed);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference UseAndDispose(TestSource[] s)
    {
        var channel = new BreakChannel { RecordThread = false };
        var waker = new Waker(channel);
        waker.Add(s[0]);
        waker.Add(s[1]);
        waker.Remove(s[1]);

        // The break for the last source proves the Waker applied every message before it.
        s[2].Ready = true;
        waker.Add(s[2]);
        channel.WaitForBreaks(1);
        s[2].Ready = false;
        channel.ReleaseAll();
        waker.Dispose();
        return new WeakReference(waker);
    }

    /// <summary>
    /// Waits until the Waker's thread (the one that asked <paramref name="asked"/> whether it is
    /// ready) is blocked outside a break, or has broken more than <paramref name="breaks"/> times.
    /// </summary>
    private static void WaitUntilIdle(BreakChannel channel, TestSource asked, int breaks)
    {
        LauncherHarness.WaitFor(
            () => channel.Breaks > breaks
                || (asked.AskedBy is { } t && !channel.InBreak && (t.ThreadState & ThreadState.WaitSleepJoin) != 0),
            "the Waker to go idle");
    }

    /// <summary>An input source whose readiness the test sets; remembers which thread asked.</summary>
    private sealed class TestSource : InputSource
    {
        private volatile bool _ready;

        public bool Ready
        {
            get => _ready;
            set => _ready = value;
        }

        public Thread? AskedBy { get; private set; }

        public override bool IsReady
        {
            get
            {
                AskedBy = Thread.CurrentThread;
                return _ready;
            }
        }

        public void Signal() => SignalReady();
    }

    /// <summary>
    /// A channel whose <see cref="Break"/> blocks, as <c>LHREQ_BREAK 1</c> does, until the test
    /// releases it (one break, or all from now on).
    /// </summary>
    private sealed class BreakChannel : ILguestChannel
    {
        private readonly SemaphoreSlim _release = new(0);
        private volatile bool _releaseAll;
        private volatile bool _inBreak;
        private int _breaks;

        public bool RecordThread { get; init; } = true;

        public int Breaks => Volatile.Read(ref _breaks);

        public bool InBreak => _inBreak;

        public Thread? WakerThread { get; private set; }

        public void WaitForBreaks(int n) => LauncherHarness.WaitFor(() => Breaks >= n && InBreak, $"break {n}");

        public void ReleaseOne() => _release.Release();

        public void ReleaseAll()
        {
            _releaseAll = true;
            _release.Release();
        }

        public void Break()
        {
            if (RecordThread)
            {
                WakerThread = Thread.CurrentThread;
            }

            _inBreak = true;
            Interlocked.Increment(ref _breaks);
            if (!_releaseAll)
            {
                _release.Wait(TimeSpan.FromSeconds(20));
            }

            _inBreak = false;
        }

        public void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint)
        {
        }

        public ChannelEvent Run() => throw new NotSupportedException();

        public bool Interrupt(uint irq) => true;

        public void ReleaseBreak()
        {
        }

        public void Dispose()
        {
        }
    }
}
