using System.Globalization;
using System.Text;
using LguestSim.Engine.Machine;

namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>
/// Reads the line-based scenario format (see README, "Scenarios"): one step a line,
/// <c>verb word "quoted string" key=value …</c>, <c># comments</c>. Every line is checked
/// here, before anything runs, so a bad file fails with <c>file:line: message</c>.
/// </summary>
public static class ScenarioParser
{
    private sealed record Shape(int MinWords, int MaxWords, string[] Keys, string[] Flags, bool Setup = false);

    private static readonly Dictionary<string, Shape> s_verbs = new(StringComparer.Ordinal)
    {
        ["memory"] = new(1, 1, [], [], Setup: true),
        ["net"] = new(0, 0, ["mac", "host-ip"], [], Setup: true),
        ["block"] = new(0, 0, ["size", "fill", "file"], [], Setup: true),
        ["console"] = new(0, 0, [], [], Setup: true),
        ["boot"] = new(0, 0, [], []),
        ["early"] = new(1, 1, [], []),
        ["kick-early"] = new(1, 1, ["vq"], []),
        ["console.write"] = new(1, 1, [], []),
        ["console.expect"] = new(1, 1, [], []),
        ["block.read"] = new(0, 2, ["sector", "count", "segments", "expect", "status", "len"], ["barrier", "nokick"]),
        ["block.write"] = new(0, 2, ["sector", "count", "segments", "data", "status", "len"], ["barrier", "nokick"]),
        ["block.scsi"] = new(0, 2, ["status", "len"], ["barrier", "nokick"]),
        ["block.kick"] = new(0, 0, [], []),
        ["idle"] = new(0, 0, [], []),
        ["net.send"] = new(0, 0, ["len", "data", "dst", "type"], []),
        ["net.expect"] = new(0, 0, ["len", "data", "count"], []),
        ["host.type"] = new(1, 1, [], []),
        ["host.console.eof"] = new(0, 0, [], []),
        ["host.net.send"] = new(0, 0, ["len", "data", "dst", "src", "type", "count"], []),
        ["host.net.expect"] = new(0, 0, ["len", "data"], []),
        ["host.net.read-error"] = new(0, 0, ["errno"], []),
        ["net.arp"] = new(1, 1, ["from"], []),
        ["net.ping"] = new(1, 1, ["from", "count", "size"], ["nowait"]),
        ["net.ping-wait"] = new(0, 0, [], []),
        ["net.rx-hold"] = new(0, 0, [], []),
        ["net.rx-drain"] = new(0, 0, [], []),
        ["net.rx-refill"] = new(0, 0, [], []),
        ["reset"] = new(1, 1, [], []),
        ["ring.desc"] = new(3, 3, ["addr", "len", "flags", "next"], []),
        ["ring.publish"] = new(3, 3, [], []),
        ["ring.avail-idx"] = new(3, 3, [], []),
        ["ring.kick"] = new(2, 2, [], ["wait"]),
        ["poweroff"] = new(0, 1, [], []),
        ["panic"] = new(1, 1, [], []),
        ["reboot"] = new(0, 0, [], []),
    };

    private static readonly string[] s_numberKeys = ["sector", "count", "segments", "len", "vq", "addr", "flags", "next", "type", "size", "errno"];

    /// <summary>Most sectors one block.read or block.write moves (32 MiB).</summary>
    public const ulong MaxBlockSectors = 0x10000;

    /// <summary>Largest block device a scenario may create (its temporary file is written out in full): 1 GiB.</summary>
    public const ulong MaxBlockSize = 1UL << 30;

    /// <summary>Largest scenario file read: 1 MiB.</summary>
    public const int MaxScenarioBytes = 1 << 20;

    /// <summary>Most frames one host.net.send or net.expect step sends or waits for.</summary>
    public const ulong MaxFrameCount = 10000;

    // The range of each numeric key, by verb where it differs ("*": any verb). A value the
    // simulated guest would have to squeeze into a narrower field, or could not allocate, is
    // refused here, before anything runs, rather than wrapping or failing in the guest.
    private static readonly Dictionary<(string Verb, string Key), (ulong Min, ulong Max)> s_ranges = new()
    {
        [("*", "vq")] = (0, 255),
        [("*", "flags")] = (0, ushort.MaxValue),
        [("*", "next")] = (0, ushort.MaxValue),
        [("*", "type")] = (0, ushort.MaxValue),
        [("*", "errno")] = (0, 4095),
        [("*", "segments")] = (1, Engine.Devices.Block.BlockDevice.SegMax),
        [("*", "len")] = (0, uint.MaxValue),
        [("block", "size")] = (0, MaxBlockSize),
        [("block.read", "count")] = (0, MaxBlockSectors),
        [("block.write", "count")] = (0, MaxBlockSectors),
        [("net.expect", "count")] = (1, MaxFrameCount),
        [("host.net.send", "count")] = (1, MaxFrameCount),
        [("net.send", "len")] = (14, 1514),
        [("host.net.send", "len")] = (14, 1514),
    };

    /// <summary>Parses the scenario file at <paramref name="path"/>; messages name it as <paramref name="displayName"/>.</summary>
    /// <exception cref="ScenarioException">The file is missing or malformed.</exception>
    public static Scenario ParseFile(string path, string? displayName = null)
    {
        string shown = displayName ?? path;
        if (Directory.Exists(path))
        {
            throw new ScenarioException(shown, 0, "cannot read scenario: it is a directory, not a file");
        }

        string text;
        try
        {
            // Read at most one byte more than the limit: a device (/dev/zero) or a FIFO
            // never says how long it is.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            byte[] buffer = new byte[MaxScenarioBytes + 1];
            int total = 0;
            for (int n; total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0;)
            {
                total += n;
            }

            if (total > MaxScenarioBytes)
            {
                throw new ScenarioException(shown, 0, $"cannot read scenario: larger than {MaxScenarioBytes >> 20} MiB");
            }

            text = new UTF8Encoding(false).GetString(buffer, 0, total);
            if (text.Length > 0 && text[0] == '\uFEFF')
            {
                text = text[1..];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioException(shown, 0, $"cannot read scenario: {e.Message}");
        }

        return Parse(text, shown, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>Parses scenario <paramref name="text"/>.</summary>
    /// <exception cref="ScenarioException">A line is malformed.</exception>
    public static Scenario Parse(string text, string file, string name)
    {
        var scenario = new Scenario { Name = name };
        bool setupDone = false;
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNo = i + 1;
            List<string> tokens = Tokenize(lines[i], file, lineNo);
            if (tokens.Count == 0)
            {
                continue;
            }

            var step = new ScenarioStep { File = file, Line = lineNo, Verb = tokens[0] };
            if (!s_verbs.TryGetValue(step.Verb, out Shape? shape))
            {
                throw new ScenarioException(file, lineNo, $"unknown verb '{step.Verb}'");
            }

            foreach (string token in tokens.Skip(1))
            {
                int eq = token.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && !token.StartsWith('\u0001'))
                {
                    string key = token[..eq];
                    if (!shape.Keys.Contains(key))
                    {
                        throw new ScenarioException(file, lineNo, $"'{step.Verb}' takes no argument '{key}'");
                    }

                    if (!step.Named.TryAdd(key, token[(eq + 1)..]))
                    {
                        throw new ScenarioException(file, lineNo, $"argument '{key}' given twice");
                    }
                }
                else
                {
                    string word = token.TrimStart('\u0001');
                    if (!token.StartsWith('\u0001') && shape.Flags.Contains(word))
                    {
                        step.Words.Add(word);
                        continue;
                    }

                    step.Words.Add(word);
                }
            }

            int positional = step.Words.Count(w => !shape.Flags.Contains(w));
            if (positional < shape.MinWords || positional > shape.MaxWords)
            {
                throw new ScenarioException(file, lineNo, shape.MinWords == shape.MaxWords
                    ? $"'{step.Verb}' takes {shape.MinWords} word(s), got {positional}"
                    : $"'{step.Verb}' takes {shape.MinWords} to {shape.MaxWords} words, got {positional}");
            }

            Validate(step);
            if (shape.Setup)
            {
                if (setupDone)
                {
                    throw new ScenarioException(file, lineNo, $"'{step.Verb}' is a setup line and must come before the first guest or host action");
                }

                ApplySetup(scenario, step);
            }
            else
            {
                setupDone = true;
                scenario.Steps.Add(step);
            }
        }

        if (!scenario.Devices.Any(d => d.Kind == DeviceKinds.Console))
        {
            scenario.Devices.Add(new DeviceSpec(DeviceKinds.Console));
        }

        // The console is always created last (spec §3.5).
        DeviceSpec console = scenario.Devices.First(d => d.Kind == DeviceKinds.Console);
        scenario.Devices.Remove(console);
        scenario.Devices.Add(console);
        return scenario;
    }

    /// <summary>Parses a decimal or 0x-hex number with an optional K, M or G suffix (powers of 1024).</summary>
    public static bool TryParseNumber(string text, out ulong value)
    {
        value = 0;
        ulong scale = 1;
        if (text.Length > 1 && "KMG".Contains(char.ToUpperInvariant(text[^1])) && !text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            scale = char.ToUpperInvariant(text[^1]) switch { 'K' => 1UL << 10, 'M' => 1UL << 20, _ => 1UL << 30 };
            text = text[..^1];
        }

        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok || (scale > 1 && value > ulong.MaxValue / scale))
        {
            return false;
        }

        value *= scale;
        return true;
    }

    /// <summary>Parses aa:bb:cc:dd:ee:ff.</summary>
    public static bool TryParseMac(string text, out byte[] mac)
    {
        mac = new byte[6];
        string[] parts = text.Split(':');
        if (parts.Length != 6)
        {
            return false;
        }

        for (int i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out mac[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The number in <paramref name="key"/>, or <paramref name="fallback"/> when absent.</summary>
    public static ulong Number(ScenarioStep step, string key, ulong fallback)
    {
        if (!step.Named.TryGetValue(key, out string? text))
        {
            return fallback;
        }

        TryParseNumber(text, out ulong v);
        return v;
    }

    private static void Validate(ScenarioStep step)
    {
        foreach ((string key, string value) in step.Named)
        {
            ulong number = 0;
            bool isNumber = s_numberKeys.Contains(key);
            if (isNumber && !TryParseNumber(value, out number))
            {
                throw new ScenarioException(step.File, step.Line, $"bad number '{value}' for {key}");
            }

            if (isNumber && (s_ranges.TryGetValue((step.Verb, key), out var range) || s_ranges.TryGetValue(("*", key), out range))
                && (number < range.Min || number > range.Max))
            {
                throw new ScenarioException(step.File, step.Line, $"{key}={value} is out of range ({range.Min} to {range.Max})");
            }

            if ((key is "data" or "expect" or "fill") && !DataPattern.TryParse(value, out _))
            {
                throw new ScenarioException(step.File, step.Line, $"bad data pattern '{value}' for {key} (use fill:HH, one byte in hex, or seed:N)");
            }

            if ((key is "mac" or "dst" or "src") && !TryParseMac(value, out _))
            {
                throw new ScenarioException(step.File, step.Line, $"bad MAC address '{value}'");
            }

            if (key == "status" && value is not ("OK" or "IOERR" or "UNSUPP"))
            {
                throw new ScenarioException(step.File, step.Line, $"bad status '{value}' (OK, IOERR or UNSUPP)");
            }
        }

        if (step.Verb is "kick-early" or "reset" or "ring.desc" or "ring.publish" or "ring.avail-idx" or "ring.kick")
        {
            if (!DeviceKinds.TryFind(step.Words[0], out _))
            {
                throw new ScenarioException(step.File, step.Line, $"unknown device '{step.Words[0]}' ({DeviceKinds.NameList})");
            }

            // Words after the device: the queue, then a descriptor index, head or avail.idx.
            // Only ring.kick has a flag ("wait"); for the other verbs it is a bad number.
            int position = 0;
            foreach (string w in step.Words.Skip(1).Where(w => !(step.Verb == "ring.kick" && w == "wait")))
            {
                position++;
                if (!TryParseNumber(w, out ulong n))
                {
                    throw new ScenarioException(step.File, step.Line, $"bad number '{w}'");
                }

                ulong max = position == 1 ? 255UL : ushort.MaxValue;
                if (n > max)
                {
                    throw new ScenarioException(step.File, step.Line, $"{(position == 1 ? "queue" : "index")} {w} is out of range (0 to {max})");
                }
            }
        }

        if (step.Verb == "memory" && (!TryParseNumber(step.Words[0], out ulong mib) || mib == 0 || mib > 1024))
        {
            throw new ScenarioException(step.File, step.Line, $"bad memory size '{step.Words[0]}' (1 to 1024 MiB)");
        }

        ValidateNet(step);
        if (step.Verb is "block.write" && !step.Named.ContainsKey("data"))
        {
            throw new ScenarioException(step.File, step.Line, "block.write needs data=fill:HH or data=seed:N");
        }
    }

    /// <summary>The IPv4 words and keys of the net verbs: dotted quads, and sizes a frame can carry.</summary>
    private static void ValidateNet(ScenarioStep step)
    {
        foreach ((string key, string value) in step.Named)
        {
            if (key is "from" or "host-ip" && !Guest.Ip.Packets.TryParseAddress(value, out _))
            {
                throw new ScenarioException(step.File, step.Line, $"bad IPv4 address '{value}' for {key}");
            }
        }

        if (step.Verb is not ("net.arp" or "net.ping"))
        {
            return;
        }

        if (!Guest.Ip.Packets.TryParseAddress(step.Words[0], out uint target) || target == 0)
        {
            throw new ScenarioException(step.File, step.Line, $"bad IPv4 address '{step.Words[0]}'");
        }

        if (!step.Named.ContainsKey("from"))
        {
            throw new ScenarioException(step.File, step.Line, $"{step.Verb} needs from=ADDRESS (the guest's own address)");
        }

        if (step.Verb == "net.ping")
        {
            if (Guest.Ip.Packets.TryParseAddress(step.Named["from"], out uint from) && from == 0)
            {
                throw new ScenarioException(step.File, step.Line, "net.ping needs a real from= address, not 0.0.0.0");
            }

            if (Number(step, "count", 1) is 0 or > 10000)
            {
                throw new ScenarioException(step.File, step.Line, "count must be 1 to 10000");
            }

            if (Number(step, "size", 56) > 1472)
            {
                throw new ScenarioException(step.File, step.Line, "size must be at most 1472 (1500 less the IPv4 and ICMP headers)");
            }
        }
    }

    private static void ApplySetup(Scenario scenario, ScenarioStep step)
    {
        switch (step.Verb)
        {
            case "memory":
                TryParseNumber(step.Words[0], out ulong mib);
                scenario.MemoryMiB = mib;
                break;
            case "net":
                byte[] mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
                if (step.Named.TryGetValue("mac", out string? m))
                {
                    TryParseMac(m, out mac);
                }

                uint hostIp = 0;
                if (step.Named.TryGetValue("host-ip", out string? h))
                {
                    Guest.Ip.Packets.TryParseAddress(h, out hostIp);
                }

                scenario.Devices.Add(new DeviceSpec(DeviceKinds.Net, Mac: mac, HostIp: hostIp));
                break;
            case "block":
                DataPattern fill = new(true, 0);
                if (step.Named.TryGetValue("fill", out string? f))
                {
                    DataPattern.TryParse(f, out fill);
                }

                string? file = step.Named.GetValueOrDefault("file");
                if (file is not null && !Path.IsPathRooted(file))
                {
                    file = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(step.File)) ?? ".", file);
                }

                if (file is not null && !File.Exists(file))
                {
                    throw new ScenarioException(step.File, step.Line, $"block file '{step.Named["file"]}' does not exist");
                }

                scenario.Devices.Add(new DeviceSpec(DeviceKinds.Block, SizeBytes: (long)Number(step, "size", 64 * 1024), Fill: fill, File: file));
                break;
            case "console":
                if (scenario.Devices.Any(d => d.Kind == DeviceKinds.Console))
                {
                    throw new ScenarioException(step.File, step.Line, "only one console");
                }

                scenario.Devices.Add(new DeviceSpec(DeviceKinds.Console));
                break;
        }
    }

    /// <summary>Splits a line into tokens; quoted strings are unescaped and marked so they are never taken as key=value.</summary>
    private static List<string> Tokenize(string line, string file, int lineNo)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < line.Length)
        {
            char c = line[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '#')
            {
                break;
            }

            if (c == '"')
            {
                var sb = new StringBuilder("\u0001");
                i++;
                bool closed = false;
                while (i < line.Length)
                {
                    char q = line[i++];
                    if (q == '"')
                    {
                        closed = true;
                        break;
                    }

                    if (q != '\\')
                    {
                        sb.Append(q);
                        continue;
                    }

                    if (i >= line.Length)
                    {
                        break;
                    }

                    char e = line[i++];
                    switch (e)
                    {
                        case 'n': sb.Append('\n'); break;
                        case 't': sb.Append('\t'); break;
                        case 'r': sb.Append('\r'); break;
                        case '0': sb.Append('\0'); break;
                        case '\\': sb.Append('\\'); break;
                        case '"': sb.Append('"'); break;
                        case 'x' when i + 2 <= line.Length && byte.TryParse(line.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b):
                            sb.Append((char)b);
                            i += 2;
                            break;
                        default:
                            throw new ScenarioException(file, lineNo, $"bad escape '\\{e}' in string");
                    }
                }

                if (!closed)
                {
                    throw new ScenarioException(file, lineNo, "unterminated string");
                }

                tokens.Add(sb.ToString());
                continue;
            }

            int start = i;
            while (i < line.Length && !char.IsWhiteSpace(line[i]) && line[i] != '#')
            {
                i++;
            }

            tokens.Add(line[start..i]);
        }

        return tokens;
    }
}
