using System.Globalization;
using System.Text;

namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>
/// Writes random hostile scenarios: every verb of the format, raw ring mischief on every
/// queue, resets and reboots, and values from the ordinary to the huge and wrapping. The same
/// seed and index always give the same text, so a failing case can be replayed and kept.
/// </summary>
/// <remarks>
/// The one generator of hostile scenarios: the CI test runs a fixed seed and a bounded count,
/// and a future <c>lguestsim fuzz</c> can run it for as long as it is given. Some generated
/// lines are out of range on purpose; such a scenario must fail to parse with one
/// <c>file:line:</c> message, which is an outcome like any other.
/// </remarks>
public static class HostileScenarioGenerator
{
    private static readonly ulong[] s_edges =
    [
        0, 1, 2, 15, 16, 127, 128, 255, 256, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ];

    private static readonly string[] s_devices = ["block", "net", "console"];

    private static readonly string[] s_steps =
    [
        "boot", "early", "kick-early", "console.write", "console.expect", "block.read", "block.write", "block.scsi",
        "block.kick", "idle", "net.send", "net.expect", "host.type", "host.console.eof", "host.net.send",
        "host.net.expect", "host.net.read-error", "net.arp", "net.ping", "net.ping-wait", "net.rx-hold",
        "net.rx-drain", "net.rx-refill", "reset", "ring.desc", "ring.publish", "ring.avail-idx", "ring.kick",
        "poweroff", "panic", "reboot",
    ];

    /// <summary>The verbs a generated step may use (every verb that is not set-up).</summary>
    public static IReadOnlyList<string> StepVerbs => s_steps;

    /// <summary>Scenario number <paramref name="index"/> of the series for <paramref name="seed"/>.</summary>
    public static string Generate(int seed, int index)
    {
        // Not HashCode.Combine: it is seeded afresh in every process, and a case must replay.
        var r = new EdgeRandom(unchecked((seed * 1_000_003) ^ (index * 7_919)));

        // Most scenarios keep to legal values, so they run and reach the devices; the rest
        // mix in edges (one number in eight), which mostly makes them parse errors.
        r.EdgeOneIn = r.Next(5) < 3 ? 0 : 8;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# hostile scenario seed={seed} index={index}\n");
        ulong memoryMiB = r.Next(8) == 0 ? 1UL : (ulong)(2 << r.Next(5));
        text.Append(CultureInfo.InvariantCulture, $"memory {memoryMiB}\n");
        int nets = r.Next(3);
        int blocks = r.Next(3);
        for (int i = 0; i < nets; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"net mac=02:00:00:00:00:0{i + 1} host-ip=169.254.{i}.1\n");
        }

        for (int i = 0; i < blocks; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"block size={Pick(r, ["0", "512", "1K", "16K", "64K", "1000"])} fill={r.Next(256):x2}\n");
        }

        ulong limit = memoryMiB << 20;
        int steps = 3 + r.Next(20);
        for (int i = 0; i < steps; i++)
        {
            text.Append(Step(r, s_steps[r.Next(s_steps.Length)], limit)).Append('\n');
        }

        text.Append(r.Next(4) == 0 ? "panic \"the end\"\n" : "poweroff\n");
        return text.ToString();
    }

    /// <summary>Whether <paramref name="text"/> can write to a block device's file: a write request, or a raw descriptor on the block queue.</summary>
    public static bool MayWriteBlock(string text) =>
        text.Contains("block.write", StringComparison.Ordinal) || text.Contains("ring.desc block", StringComparison.Ordinal)
        || text.Contains("ring.publish block", StringComparison.Ordinal);

    private static string Step(Random r, string verb, ulong memory) => verb switch
    {
        "early" or "console.write" or "console.expect" or "host.type" => $"{verb} {Quoted(r)}",
        "kick-early" => $"kick-early {Device(r)}{Maybe(r, $" vq={Number(r, 2)}")}",
        "block.read" => $"block.read sector={Number(r, 200)} count={Number(r, 16)}{Maybe(r, $" segments={Range(r, 1, 8)}")}{Maybe(r, $" expect={Pattern(r)}")}{Maybe(r, $" status={Status(r)}")}{Maybe(r, $" len={Number(r, 8193)}")}{Maybe(r, " barrier")}{Maybe(r, " nokick")}",
        "block.write" => $"block.write sector={Number(r, 200)} count={Number(r, 16)} data={Pattern(r)}{Maybe(r, $" segments={Range(r, 1, 8)}")}{Maybe(r, " barrier")}{Maybe(r, " nokick")}",
        "block.scsi" => $"block.scsi{Maybe(r, $" status={Status(r)}")}{Maybe(r, $" len={Number(r, 2)}")}{Maybe(r, " barrier")}{Maybe(r, " nokick")}",
        "net.send" => $"net.send len={Range(r, 14, 1514)}{Maybe(r, $" data={Pattern(r)}")}{Maybe(r, $" type={Number(r, 0xFFFF)}")}",
        "net.expect" => $"net.expect{Maybe(r, $" len={Number(r, 1514)}")}{Maybe(r, $" count={Range(r, 1, 4)}")}",
        "host.net.send" => $"host.net.send len={Range(r, 14, 1514)}{Maybe(r, $" data={Pattern(r)}")}{Maybe(r, " dst=ff:ff:ff:ff:ff:ff")}{Maybe(r, $" count={Range(r, 1, 4)}")}",
        "host.net.expect" => $"host.net.expect{Maybe(r, $" len={Number(r, 1514)}")}",
        "host.net.read-error" => $"host.net.read-error{Maybe(r, $" errno={Number(r, 200)}")}",
        "net.arp" => $"net.arp 169.254.0.1 from={Pick(r, ["169.254.0.2", "0.0.0.0"])}",
        "net.ping" => $"net.ping 169.254.0.1 from=169.254.0.2{Maybe(r, $" count={Range(r, 1, 4)}")}{Maybe(r, $" size={Number(r, 1472)}")}{Maybe(r, " nowait")}",
        "reset" => $"reset {Device(r)}",
        "ring.desc" => $"ring.desc {Device(r)} {Number(r, 2)} {Number(r, 130)} addr={Address(r, memory)} len={Number(r, 0x2000)}{Maybe(r, $" flags={Number(r, 3)}")}{Maybe(r, $" next={Number(r, 130)}")}",
        "ring.publish" => $"ring.publish {Device(r)} {Number(r, 2)} {Number(r, 130)}",
        "ring.avail-idx" => $"ring.avail-idx {Device(r)} {Number(r, 2)} {Number(r, 0xFFFF)}",
        "ring.kick" => $"ring.kick {Device(r)} {Number(r, 2)}{Maybe(r, " wait")}",
        "poweroff" => r.Next(2) == 0 ? "poweroff" : $"poweroff {Quoted(r)}",
        "panic" => $"panic {Quoted(r)}",
        _ => verb,
    };

    /// <summary>Mostly a value up to <paramref name="typical"/>; now and then an edge: huge, wrapping, or just past a limit.</summary>
    private static string Number(Random r, ulong typical)
    {
        int oneIn = r is EdgeRandom e ? e.EdgeOneIn : 6;
        ulong value = oneIn > 0 && r.Next(oneIn) == 0 ? s_edges[r.Next(s_edges.Length)] : (ulong)r.NextInt64(0, (long)typical + 1);
        return r.Next(2) == 0 ? value.ToString(CultureInfo.InvariantCulture) : "0x" + value.ToString("x", CultureInfo.InvariantCulture);
    }

    private static string Range(Random r, ulong min, ulong max)
    {
        string n = Number(r, max - min);
        return ulong.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) && v <= max - min
            ? (min + v).ToString(CultureInfo.InvariantCulture)
            : n;
    }

    private static string Address(Random r, ulong memory) => r.Next(6) switch
    {
        0 => "0",
        1 => "0x" + (memory / 2).ToString("x", CultureInfo.InvariantCulture),
        2 => "0x" + (memory - 16).ToString("x", CultureInfo.InvariantCulture),
        3 => "0x" + memory.ToString("x", CultureInfo.InvariantCulture),
        4 => Number(r, 0xFFFF_FFFF),
        _ => "0x" + ((ulong)r.NextInt64(0, (long)memory) & ~15UL).ToString("x", CultureInfo.InvariantCulture),
    };

    private static string Device(Random r) => r is EdgeRandom { EdgeOneIn: > 0 } && r.Next(40) == 0 ? "floppy" : s_devices[r.Next(s_devices.Length)];

    private static string Pattern(Random r) => r.Next(2) == 0 ? $"fill:{r.Next(256):x2}" : $"seed:{r.Next(100)}";

    private static string Status(Random r) => Pick(r, ["OK", "IOERR", "UNSUPP"]);

    private static string Quoted(Random r) => Pick(r, ["\"\"", "\"x\"", "\"hello\\n\"", "\"\\x00\\xff\"", "\"" + new string('z', 40) + "\""]);

    private static string Maybe(Random r, string text) => r.Next(2) == 0 ? text : string.Empty;

    private static string Pick(Random r, string[] choices) => choices[r.Next(choices.Length)];

    /// <summary>The scenario's random stream, and how often its numbers are edges (0: never).</summary>
    private sealed class EdgeRandom(int seed) : Random(seed)
    {
        public int EdgeOneIn { get; set; }
    }
}
