using System.Diagnostics.CodeAnalysis;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Launch;

namespace LguestSim.Engine.Loader;

/// <summary>Which device a <see cref="DeviceOption"/> creates.</summary>
public enum DeviceOptionKind
{
    /// <summary><c>--tunnet=(&lt;ipaddr&gt; | bridge:&lt;bridgename&gt;)</c>: a net device on a tap.</summary>
    TunNet = 1,

    /// <summary><c>--block=&lt;filename&gt;</c>: a block device over a file.</summary>
    Block,
}

/// <summary>One device option, in command-line order (devices are created in that order).</summary>
/// <param name="Kind">Net or block.</param>
/// <param name="Argument">The option's value, as given.</param>
public readonly record struct DeviceOption(DeviceOptionKind Kind, string Argument)
{
    /// <summary>The row of the table of device kinds the option creates (<c>--tunnet</c>: net, <c>--block</c>: block).</summary>
    public Machine.DeviceKind DeviceKind => Kind switch
    {
        DeviceOptionKind.TunNet => Machine.DeviceKinds.Net,
        DeviceOptionKind.Block => Machine.DeviceKinds.Block,
        _ => throw new InvalidOperationException($"device option kind {Kind} names no device kind"),
    };
}

/// <summary>Why a command line was refused.</summary>
/// <param name="Message">One line, no trailing newline.</param>
/// <param name="ShowUsage">True for the usage errors (bad option, too few words): print <see cref="LauncherCommandLine.FormatUsage"/> after it.</param>
public sealed record CommandLineError(string Message, bool ShowUsage);

/// <summary>
/// The Launcher's command line:
/// <c>[--verbose|-v] [--tunnet=ARG]* [--block=FILE]* [--initrd=FILE] [--device=PATH] [--guest-errors=exit|isolate] &lt;mem-in-MiB&gt; &lt;vmlinux&gt; [kernel args...]</c>.
/// </summary>
/// <remarks>
/// <para>
/// lguest.c <c>main()</c> with GNU <c>getopt_long()</c> (spec §7.8). As with getopt, options
/// may come anywhere (the other words keep their order), <c>--</c> ends the options, a long
/// option may be shortened to any unambiguous prefix (<c>--bl=disk.img</c>), <c>-v</c> may be
/// repeated or clustered (<c>-vv</c>), and a lone <c>-</c> is an ordinary word.
/// </para>
/// <para>
/// Fixed QUIRK: the original took the memory size from a pre-scan for the first word not
/// starting with '-', so <c>--block disk.img 64 vmlinux</c> made "disk.img" the memory size
/// (0 MiB). Here the size is simply the first word left after option parsing, so
/// <c>--block FILE</c> works like <c>--block=FILE</c>, exactly as getopt reads it.
/// </para>
/// <para>
/// The memory size must be a whole, positive number of MiB (the original's <c>atoi()</c>
/// turned "64M" into 64 and "abc" into 0). The ceiling is <see cref="MaxMemoryMiB"/>: the
/// 2.6.25 ABI is 32-bit, and guest memory here is capped at 2 GiB including the 256 device
/// pages above RAM, which leaves 2046 MiB of RAM.
/// </para>
/// </remarks>
public sealed class LauncherCommandLine
{
    /// <summary>Bytes in one MiB, the unit of the memory argument.</summary>
    public const ulong BytesPerMiB = 1048576;

    /// <summary>
    /// The largest accepted memory size: RAM plus 256 device pages (1 MiB) must fit in the
    /// engine's 2 GiB guest-memory cap (<c>int.MaxValue</c> bytes), and stay far below 4 GiB.
    /// </summary>
    public const uint MaxMemoryMiB = 2046;

    /// <summary>The lguest device a Launcher opens unless <c>--device</c> names another.</summary>
    public const string DefaultDevicePath = "/dev/lguest";

    private static readonly string[] s_longOptions = ["verbose", "tunnet", "block", "initrd", "device", "guest-errors"];

    private LauncherCommandLine(
        bool verbose,
        IReadOnlyList<DeviceOption> devices,
        string? initrdPath,
        uint memoryMiB,
        string kernelPath,
        IReadOnlyList<string> kernelArguments,
        string devicePath,
        GuestErrorMode guestErrors)
    {
        GuestErrors = guestErrors;
        DevicePath = devicePath;
        Verbose = verbose;
        Devices = devices;
        InitrdPath = initrdPath;
        MemoryMiB = memoryMiB;
        KernelPath = kernelPath;
        KernelArguments = kernelArguments;
    }

    /// <summary>
    /// The usage text of spec §7.8 step 4 (three lines, plus one for our <c>--guest-errors</c>) for a program called
    /// <paramref name="program"/>, ending in a newline.
    /// </summary>
    public static string FormatUsage(string program)
    {
        string indent = new(' ', "usage: ".Length + program.Length + 1);
        return $"usage: {program} [--verbose]\n"
            + $"{indent}[--tunnet=(<ipaddr>|bridge:<bridgename>) | --block=<filename> | --initrd=<filename> | --device=<path>]...\n"
            + $"{indent}[--guest-errors={GuestErrorModeNames.Choices}]\n"
            + $"{indent}<mem-in-mb> vmlinux [args...]\n";
    }

    /// <summary><c>--verbose</c> / <c>-v</c> was given.</summary>
    public bool Verbose { get; }

    /// <summary>Net and block devices, in command-line order.</summary>
    public IReadOnlyList<DeviceOption> Devices { get; }

    /// <summary>The initrd file (<c>--initrd</c>; the last one wins), or null.</summary>
    public string? InitrdPath { get; }

    /// <summary>Guest RAM in MiB, 1 to <see cref="MaxMemoryMiB"/>.</summary>
    public uint MemoryMiB { get; }

    /// <summary>
    /// The lguest device to open (<c>--device</c>; the last one wins), default
    /// <see cref="DefaultDevicePath"/>. Not in lguest.c, which always opened /dev/lguest; here
    /// it lets the emulated device (a FUSE file) stand in for the kernel's.
    /// </summary>
    public string DevicePath { get; }

    /// <summary>
    /// <c>--guest-errors</c> (the last one wins): what a guest fault does. Default
    /// <see cref="GuestErrorMode.Exit"/>, lguest's own behaviour. Not in lguest.c.
    /// </summary>
    public GuestErrorMode GuestErrors { get; }

    /// <summary><c>mem</c>: guest RAM in bytes (MiB × 1048576).</summary>
    public ulong MemorySize => MemoryMiB * BytesPerMiB;

    /// <summary>Guest memory capacity to allocate: RAM plus the 256 device pages.</summary>
    public ulong MemoryCapacity => DevicePage.CapacityFor(MemorySize);

    /// <summary>The kernel image (vmlinux or bzImage).</summary>
    public string KernelPath { get; }

    /// <summary>The words after the kernel name: the kernel command line, before joining.</summary>
    public IReadOnlyList<string> KernelArguments { get; }

    /// <summary>Parses <paramref name="args"/> (without the program name).</summary>
    /// <exception cref="LauncherException">The command line is wrong; the message is one line.</exception>
    public static LauncherCommandLine Parse(IReadOnlyList<string> args)
    {
        if (!TryParse(args, out LauncherCommandLine? result, out CommandLineError? error))
        {
            ThrowHelper.ThrowLauncher(error.Message);
        }

        return result;
    }

    /// <summary>Parses <paramref name="args"/>, reporting a refusal instead of throwing.</summary>
    /// <returns>True with <paramref name="result"/> set, or false with <paramref name="error"/> set.</returns>
    public static bool TryParse(
        IReadOnlyList<string> args,
        [NotNullWhen(true)] out LauncherCommandLine? result,
        [NotNullWhen(false)] out CommandLineError? error)
    {
        result = null;
        bool verbose = false;
        var devices = new List<DeviceOption>();
        string? initrd = null;
        string device = DefaultDevicePath;
        GuestErrorMode guestErrors = GuestErrorMode.Exit;
        var words = new List<string>();

        bool options = true;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!options || arg.Length < 2 || arg[0] != '-')
            {
                words.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                options = false;
                continue;
            }

            if (arg[1] != '-')
            {
                // A cluster of short options; 'v' is the only one.
                if (arg.AsSpan(1).IndexOfAnyExcept('v') >= 0)
                {
                    error = UnknownArgument(arg);
                    return false;
                }

                verbose = true;
                continue;
            }

            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? arg[2..] : arg[2..eq];
            string? inlineValue = eq < 0 ? null : arg[(eq + 1)..];
            string? option = MatchLongOption(name);
            if (option is null)
            {
                error = UnknownArgument(arg);
                return false;
            }

            if (option == "verbose")
            {
                if (inlineValue is not null)
                {
                    error = new CommandLineError($"option '--verbose' does not take an argument: {MessageText.Escape(arg)}", ShowUsage: true);
                    return false;
                }

                verbose = true;
                continue;
            }

            // Required argument: "--opt=VALUE", or else the next word whatever it looks like
            // (getopt takes "--block -x" as the file "-x").
            string value;
            if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                error = new CommandLineError($"option '--{option}' requires an argument", ShowUsage: true);
                return false;
            }

            switch (option)
            {
                case "tunnet":
                    // Checked here, before anything is created: lguest.c's sscanf() left a
                    // malformed address partly undefined.
                    if (!TunNetArgument.TryParse(value, out _, out string? why))
                    {
                        error = new CommandLineError(why, ShowUsage: false);
                        return false;
                    }

                    devices.Add(new DeviceOption(DeviceOptionKind.TunNet, value));
                    break;
                case "block":
                    devices.Add(new DeviceOption(DeviceOptionKind.Block, value));
                    break;
                case "device":
                    if (value.Length == 0)
                    {
                        error = new CommandLineError("option '--device' needs a path", ShowUsage: false);
                        return false;
                    }

                    device = value;
                    break;
                case "guest-errors":
                    if (!GuestErrorModeNames.TryParse(value, out guestErrors))
                    {
                        error = new CommandLineError(GuestErrorModeNames.BadValue(value), ShowUsage: false);
                        return false;
                    }

                    break;
                default:
                    initrd = value;
                    break;
            }
        }

        if (words.Count < 2)
        {
            string missing = words.Count == 0 ? "<mem-in-mb> and <vmlinux>" : "<vmlinux>";
            error = new CommandLineError($"missing {missing} argument{(words.Count == 0 ? "s" : "")}", ShowUsage: true);
            return false;
        }

        if (!TryParseMemory(words[0], out uint memoryMiB, out error))
        {
            return false;
        }

        result = new LauncherCommandLine(verbose, devices.ToArray(), initrd, memoryMiB, words[1], words.GetRange(2, words.Count - 2).ToArray(), device, guestErrors);
        error = null;
        return true;
    }

    /// <summary>Parses the memory size word: a whole number of MiB, 1 to <see cref="MaxMemoryMiB"/>.</summary>
    /// <returns>False with a one-line <paramref name="error"/> otherwise.</returns>
    public static bool TryParseMemory(string word, out uint memoryMiB, [NotNullWhen(false)] out CommandLineError? error)
    {
        memoryMiB = 0;
        if (word.Length == 0 || word.AsSpan().IndexOfAnyExceptInRange('0', '9') >= 0)
        {
            error = new CommandLineError($"memory size '{MessageText.Escape(word)}' is not a whole number of MiB", ShowUsage: false);
            return false;
        }

        // Digit by digit, stopping as soon as the ceiling is passed: no overflow for any length.
        ulong value = 0;
        foreach (char c in word)
        {
            value = (value * 10) + (ulong)(c - '0');
            if (value > MaxMemoryMiB)
            {
                error = new CommandLineError(
                    $"memory size {MessageText.Escape(word)} MiB is too large: at most {MaxMemoryMiB} MiB (RAM plus {LguestLayout.DevicePages} device pages must fit in 2 GiB)",
                    ShowUsage: false);
                return false;
            }
        }

        if (value == 0)
        {
            error = new CommandLineError($"memory size {MessageText.Escape(word)} MiB is too small: at least 1 MiB", ShowUsage: false);
            return false;
        }

        memoryMiB = (uint)value;
        error = null;
        return true;
    }

    /// <summary>The long option <paramref name="name"/> names: exact, or an unambiguous prefix (getopt_long).</summary>
    private static string? MatchLongOption(string name)
    {
        if (name.Length == 0)
        {
            return null;
        }

        string? match = null;
        foreach (string option in s_longOptions)
        {
            if (option == name)
            {
                return option;
            }

            if (option.StartsWith(name, StringComparison.Ordinal))
            {
                if (match is not null)
                {
                    return null;
                }

                match = option;
            }
        }

        return match;
    }

    private static CommandLineError UnknownArgument(string arg) => new($"unknown argument: {MessageText.Escape(arg)}", ShowUsage: true);
}
