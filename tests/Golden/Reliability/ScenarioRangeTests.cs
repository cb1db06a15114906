using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine.Launch;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>
/// Issue 13 item 4: every scenario value is range-checked when the file is parsed
/// (<c>file:line:</c>, before anything runs); what cannot be known then (the guest heap) is a
/// scenario check failure in words, never a .NET exception as the guest's death reason.
/// </summary>
public sealed class ScenarioRangeTests
{
    public static TheoryData<string> BadLines() => new()
    {
        "ring.desc block 0 wait addr=0x100000 len=16",
        "ring.publish block 0 wait",
        "ring.kick block 0xFFFFFFFF",
        "ring.desc block 0x100000000 1",
        "ring.desc block 0 0x10000",
        "ring.desc block 0 1 len=0x100000000",
        "ring.desc block 0 1 flags=0x10000",
        "ring.desc block 0 1 next=0x10000",
        "ring.publish block 0 0x10000",
        "ring.avail-idx block 0 0x10000",
        "kick-early block vq=0xFFFFFFFF",
        "block.read count=0x800000",
        "block.read count=1 segments=127",
        "block.read count=1 segments=0",
        "block.write count=1 data=fill:1 segments=0x100000000",
        "net.send len=0xffffffff",
        "net.send len=13",
        "host.net.send count=0x7fffffff",
        "host.net.send len=1515",
        "net.expect count=0xffffffff",
        "net.send type=0x10000",
        "host.net.read-error errno=0xffffffffff",
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public void OutOfRangeValue_IsAParseErrorNamingTheLine(string line)
    {
        string text = $"net\nblock size=16K\nboot\n{line}\npoweroff\n";
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.Parse(text, "t.scenario", "t"));
        Assert.StartsWith("t.scenario:4: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GuestHeapTooSmall_IsAScenarioCheckFailureInWords()
    {
        SimulationResult result = ScenarioText.Run("memory 1\nblock size=16K\nboot\nblock.read count=4000\npoweroff\n");
        Assert.Equal(LauncherExitKind.GuestDied, result.Exit.Kind);
        Assert.StartsWith("CRASH: scenario check failed at test.scenario:4: ", result.Exit.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Transcript, StringComparison.Ordinal);
    }
}
