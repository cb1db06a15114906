using System.Globalization;
using LguestSim.Engine.Machine;

namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>A parsed scenario: the machine to set up and the steps to play.</summary>
public sealed class Scenario
{
    /// <summary>Name (the file name without extension).</summary>
    public required string Name { get; init; }

    /// <summary>Guest RAM in MiB.</summary>
    public ulong MemoryMiB { get; set; } = 64;

    /// <summary>Devices in command-line order (the console is always created last).</summary>
    public List<DeviceSpec> Devices { get; } = new();

    /// <summary>The steps, in order.</summary>
    public List<ScenarioStep> Steps { get; } = new();
}

/// <summary>A device of the scenario's machine.</summary>
/// <param name="Kind">The device kind (a row of the engine's <see cref="DeviceKinds"/>).</param>
/// <param name="Mac">For net: the tap's hardware address.</param>
/// <param name="SizeBytes">For block: the size of the temporary file.</param>
/// <param name="Fill">For block: how the temporary file is filled.</param>
/// <param name="File">For block: an existing file to use instead of a temporary one.</param>
/// <param name="HostIp">For net: the in-memory host side's IPv4 address (<c>host-ip=</c>; host order), 0 for none.</param>
public sealed record DeviceSpec(DeviceKind Kind, byte[]? Mac = null, long SizeBytes = 0, DataPattern? Fill = null, string? File = null, uint HostIp = 0);

/// <summary>One line of a scenario after parsing.</summary>
public sealed class ScenarioStep
{
    /// <summary>File the step came from (as given, for messages).</summary>
    public required string File { get; init; }

    /// <summary>1-based line number.</summary>
    public required int Line { get; init; }

    /// <summary>The verb (first word).</summary>
    public required string Verb { get; init; }

    /// <summary>Bare words after the verb, in order (quoted strings unescaped).</summary>
    public List<string> Words { get; } = new();

    /// <summary>key=value arguments.</summary>
    public Dictionary<string, string> Named { get; } = new(StringComparer.Ordinal);

    /// <summary>"file:line" for messages.</summary>
    public string Where => $"{File}:{Line.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Whether bare word <paramref name="flag"/> is present.</summary>
    public bool Has(string flag) => Words.Contains(flag);
}

/// <summary>A malformed scenario: reported as one line, <c>file:line: message</c>.</summary>
public sealed class ScenarioException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/>:<paramref name="line"/> (line 0: the file as a whole).</summary>
    public ScenarioException(string file, int line, string message)
        : base(line > 0 ? $"{file}:{line.ToString(CultureInfo.InvariantCulture)}: {message}" : $"{file}: {message}")
    {
    }
}
