using System.Globalization;
using LguestSim.Backends.Simulated;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>
/// Issue 13 item 2: whatever the block worker reports reaches the transcript through the run
/// loop, at a point the guest's own order fixes, so block requests in flight while console and
/// net input arrive give one transcript, run after run. The runs are in-process; set
/// <c>LGUESTSIM_INTERLEAVE_RUNS</c> to raise the count (scripts measure 200, on one CPU and two).
/// </summary>
public sealed class InterleavingTests
{
    private const string Scenario = """
        net
        block size=64K
        boot
        host.net.send len=60 data=seed:1
        host.type "abc"
        block.scsi status=UNSUPP len=1
        net.expect len=60 data=seed:1
        console.expect "abc"
        block.scsi status=UNSUPP len=1 nokick
        block.write sector=8 count=8 data=seed:3 segments=4 nokick
        host.net.send len=80 data=seed:2
        block.kick
        block.scsi status=UNSUPP len=1 nokick
        block.read sector=8 count=8 expect=seed:3 nokick
        host.type "de"
        host.net.send len=90 data=seed:4
        block.kick
        net.expect len=80 data=seed:2
        net.expect len=90 data=seed:4
        console.expect "de"
        block.scsi status=UNSUPP len=1 nokick
        block.kick
        poweroff

        """;

    private static int Runs => int.TryParse(Environment.GetEnvironmentVariable("LGUESTSIM_INTERLEAVE_RUNS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 50;

    [Fact]
    public void BlockRequestsInFlight_WhileInputArrives_GiveOneTranscript()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Runs; i++)
        {
            SimulationResult result = ScenarioText.Run(Scenario);
            Assert.True(result.ExitStatus == 0, result.Transcript);
            seen[result.Transcript] = seen.GetValueOrDefault(result.Transcript) + 1;
        }

        if (seen.Count > 1)
        {
            string[] texts = [.. seen.Keys];
            Assert.Fail($"{seen.Count} different transcripts in {Runs} runs ({string.Join(", ", seen.Values)}):\n{Infrastructure.GoldenFile.FirstDifference(texts[0], texts[1])}");
        }

        Console.WriteLine($"interleaving: {Runs} runs, one transcript");
    }
}
