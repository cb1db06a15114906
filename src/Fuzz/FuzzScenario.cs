using System.Globalization;
using System.Text;
using LguestSim.Engine.Launch;

namespace LguestSim.Fuzz;

/// <summary>A fuzz program as a scenario file, and back.</summary>
/// <remarks>
/// The first non-comment line is <c>fuzz device=D mode=M [class=C]</c>; it is what makes
/// <c>lguestsim sim --scenario</c> run the file on a fuzz machine with every oracle on. The
/// other lines are the program, one step each, in the scenario language's own words
/// (<c>ring.desc</c>, <c>ring.publish</c>, <c>ring.avail-idx</c>, <c>ring.kick</c>, <c>reset</c>)
/// plus <c>notify ADDR</c>, <c>poke ADDR HEX</c>, <c>fill ADDR LEN BYTE</c>,
/// <c>host.input DEV LEN</c> and <c>worker DEV</c>. Devices are named net, block, spare, console.
/// </remarks>
public static class FuzzScenario
{
    /// <summary>Whether <paramref name="text"/> is a fuzz scenario (its first step is <c>fuzz</c>).</summary>
    public static bool IsFuzzScenario(string text)
    {
        foreach ((int _, string[] words) in WordLines(text))
        {
            return words[0] == "fuzz";
        }

        return false;
    }

    /// <summary>Writes <paramref name="program"/> as scenario text.</summary>
    /// <param name="program">The program.</param>
    /// <param name="mode">The mode it ran in.</param>
    /// <param name="layout">The machine it ran on (for device names).</param>
    /// <param name="comment">Comment lines to put first (what failed), or null.</param>
    public static string Write(FuzzProgram program, GuestErrorMode mode, FuzzLayout layout, IEnumerable<string>? comment = null)
    {
        var sb = new StringBuilder();
        foreach (string c in comment ?? [])
        {
            sb.Append("# ").Append(c.ReplaceLineEndings(" ")).Append('\n');
        }

        sb.Append(CultureInfo.InvariantCulture, $"fuzz device={DeviceName(program.Target)} mode={ModeName(mode)} class={program.Class.Name()}\n");
        foreach (FuzzStep s in program.Steps)
        {
            sb.Append(StepText(s, layout)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>The name of a device kind: console, net, block.</summary>
    public static string DeviceName(FuzzDevice d) => d switch
    {
        FuzzDevice.Console => "console",
        FuzzDevice.Net => "net",
        _ => "block",
    };

    /// <summary>The name of a mode: exit, isolate.</summary>
    public static string ModeName(GuestErrorMode m) => m == GuestErrorMode.Isolate ? "isolate" : "exit";

    /// <summary>One step as a line.</summary>
    public static string StepText(FuzzStep s, FuzzLayout layout)
    {
        string dev = s.Device < layout.Count ? layout.Name(s.Device) : "?";
        return s.Kind switch
        {
            StepKind.Desc => I($"ring.desc {dev} {s.Queue} {s.Index} addr=0x{s.Address:x} len=0x{s.Length:x} flags=0x{s.Flags:x} next={s.Next}"),
            StepKind.Publish => I($"ring.publish {dev} {s.Queue} {s.Index}"),
            StepKind.AvailIdx => I($"ring.avail-idx {dev} {s.Queue} {s.Index}"),
            StepKind.Kick => I($"ring.kick {dev} {s.Queue}"),
            StepKind.KickDefer => I($"ring.kick {dev} {s.Queue} defer"),
            StepKind.Reset => $"reset {dev}",
            StepKind.Notify => I($"notify 0x{s.Address:x}"),
            StepKind.Poke => I($"poke 0x{s.Address:x} {Convert.ToHexStringLower(s.Data ?? [])}"),
            StepKind.Fill => I($"fill 0x{s.Address:x} {s.Length} 0x{s.Value:x2}"),
            StepKind.HostInput => I($"host.input {dev} {s.Length}"),
            _ => $"worker {dev}",
        };
    }

    /// <summary>The header of a fuzz scenario: device, mode and class.</summary>
    /// <exception cref="FormatException">No well-formed <c>fuzz</c> line.</exception>
    public static (FuzzDevice Device, GuestErrorMode Mode, FuzzClass Class) ParseHeader(string text, string file)
    {
        foreach ((int lineNo, string[] w) in WordLines(text))
        {
            if (w[0] != "fuzz")
            {
                break;
            }

            FuzzDevice device = FuzzDevice.Block;
            GuestErrorMode mode = GuestErrorMode.Exit;
            FuzzClass cls = FuzzClass.Loop;
            foreach (string kv in w.Skip(1))
            {
                string[] p = kv.Split('=', 2);
                string v = p.Length == 2 ? p[1] : string.Empty;
                switch (p[0])
                {
                    case "device":
                        device = v switch
                        {
                            "console" => FuzzDevice.Console,
                            "net" => FuzzDevice.Net,
                            "block" => FuzzDevice.Block,
                            _ => throw Bad(file, lineNo, $"device '{v}' is not console, net or block"),
                        };
                        break;
                    case "mode":
                        mode = v switch
                        {
                            "exit" => GuestErrorMode.Exit,
                            "isolate" => GuestErrorMode.Isolate,
                            _ => throw Bad(file, lineNo, $"mode '{v}' is not exit or isolate"),
                        };
                        break;
                    case "class":
                        if (!FuzzClasses.TryParse(v, out cls))
                        {
                            throw Bad(file, lineNo, $"class '{v}' is not one of {FuzzClasses.NameList}");
                        }

                        break;
                    default:
                        throw Bad(file, lineNo, $"'{kv}' is not device=, mode= or class=");
                }
            }

            return (device, mode, cls);
        }

        throw Bad(file, 0, "a fuzz scenario starts with a 'fuzz device=… mode=…' line");
    }

    /// <summary>Parses the steps of a fuzz scenario for the machine laid out as <paramref name="layout"/>.</summary>
    /// <exception cref="FormatException">A line is malformed: <c>file:line: message</c>.</exception>
    public static FuzzProgram ParseProgram(string text, string file, FuzzLayout layout, FuzzDevice device, FuzzClass cls)
    {
        var program = new FuzzProgram(device, cls);
        bool header = false;
        foreach ((int lineNo, string[] w) in WordLines(text))
        {
            if (!header)
            {
                header = true;
                continue;
            }

            program.Steps.Add(ParseStep(w, file, lineNo, layout));
        }

        return program;
    }

    /// <summary>The words of each line that is not blank or a comment, with its 1-based line number.</summary>
    private static IEnumerable<(int Line, string[] Words)> WordLines(string text)
    {
        int lineNo = 0;
        foreach (string raw in text.Split('\n'))
        {
            lineNo++;
            string line = raw.Trim();
            if (line.Length != 0 && line[0] != '#')
            {
                yield return (lineNo, line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }
    }

    private static FuzzStep ParseStep(string[] w, string file, int lineNo, FuzzLayout layout)
    {
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        var words = new List<string>();
        foreach (string x in w.Skip(1))
        {
            int eq = x.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                named[x[..eq]] = x[(eq + 1)..];
            }
            else
            {
                words.Add(x);
            }
        }

        byte Dev(int i)
        {
            Need(i + 1);
            int d = layout.Find(words[i]);
            if (d < 0)
            {
                throw Bad(file, lineNo, $"no device '{words[i]}' on this machine");
            }

            return (byte)d;
        }

        ulong Num(string s, ulong max)
        {
            bool ok = s.StartsWith("0x", StringComparison.Ordinal)
                ? ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v)
                : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
            if (!ok || v > max)
            {
                throw Bad(file, lineNo, $"bad number '{s}' (at most {max})");
            }

            return v;
        }

        ulong Key(string k, ulong max) => named.TryGetValue(k, out string? v) ? Num(v, max) : 0;

        void Need(int n)
        {
            if (words.Count < n)
            {
                throw Bad(file, lineNo, $"'{w[0]}' needs {n} words");
            }
        }

        byte Queue(byte dev)
        {
            Need(2);
            ulong q = Num(words[1], 255);
            if (q >= (ulong)layout.Queues(dev))
            {
                throw Bad(file, lineNo, $"{layout.Name(dev)} has no queue {q}");
            }

            return (byte)q;
        }

        switch (w[0])
        {
            case "ring.desc":
                {
                    byte d = Dev(0);
                    byte q = Queue(d);
                    Need(3);
                    return new FuzzStep(StepKind.Desc, d, q, (ushort)Num(words[2], (ulong)layout.Num - 1), Key("addr", ulong.MaxValue), (uint)Key("len", uint.MaxValue), (ushort)Key("flags", ushort.MaxValue), (ushort)Key("next", ushort.MaxValue));
                }

            case "ring.publish":
            case "ring.avail-idx":
                {
                    byte d = Dev(0);
                    byte q = Queue(d);
                    Need(3);
                    return new FuzzStep(w[0] == "ring.publish" ? StepKind.Publish : StepKind.AvailIdx, d, q, (ushort)Num(words[2], ushort.MaxValue));
                }

            case "ring.kick":
                {
                    byte d = Dev(0);
                    byte q = Queue(d);
                    bool defer = words.Count > 2 && words[2] == "defer";
                    return new FuzzStep(defer ? StepKind.KickDefer : StepKind.Kick, d, q);
                }

            case "reset":
                return new FuzzStep(StepKind.Reset, Dev(0));
            case "worker":
                return new FuzzStep(StepKind.Worker, Dev(0));
            case "host.input":
                {
                    byte d = Dev(0);
                    Need(2);
                    return new FuzzStep(StepKind.HostInput, d, Length: (uint)Num(words[1], 1514));
                }

            case "notify":
                Need(1);
                return new FuzzStep(StepKind.Notify, Address: Num(words[0], uint.MaxValue));
            case "poke":
                {
                    Need(2);
                    byte[] data;
                    try
                    {
                        data = Convert.FromHexString(words[1]);
                    }
                    catch (FormatException)
                    {
                        throw Bad(file, lineNo, $"bad hex bytes '{words[1]}'");
                    }

                    return new FuzzStep(StepKind.Poke, Address: Num(words[0], uint.MaxValue), Data: data);
                }

            case "fill":
                Need(3);
                return new FuzzStep(StepKind.Fill, Address: Num(words[0], uint.MaxValue), Length: (uint)Num(words[1], 1 << 20), Value: (byte)Num(words[2], 255));
            default:
                throw Bad(file, lineNo, $"unknown fuzz step '{w[0]}'");
        }
    }

    private static FormatException Bad(string file, int line, string message) =>
        new(line > 0 ? $"{file}:{line.ToString(CultureInfo.InvariantCulture)}: {message}" : $"{file}: {message}");

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
