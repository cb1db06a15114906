using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using LguestSim.Engine.Loader;

namespace LguestSim.Engine.Devices.Net;

/// <summary>
/// The value of <c>--tunnet=</c>: either an IPv4 address to give the tap interface, or
/// <c>bridge:NAME</c>, a bridge to attach the tap to (spec §5.2 step 7).
/// </summary>
/// <remarks>
/// Fixed QUIRK: lguest.c read the address with an unchecked <c>sscanf("%u.%u.%u.%u")</c>, so
/// a malformed value left components undefined and an octet over 255 spilled into its
/// neighbour. Here the value must be exactly four decimal octets, each 0 to 255, and a
/// bridge name must be a valid interface name (1 to 15 bytes, no '/', ':' or white space,
/// not "." or ".."), all checked before anything on the host is created.
/// </remarks>
public sealed class TunNetArgument
{
    /// <summary>The prefix that selects bridge mode.</summary>
    public const string BridgePrefix = "bridge:";

    /// <summary>The longest interface name: <c>IFNAMSIZ</c> (16) less the terminating NUL.</summary>
    public const int MaxInterfaceNameLength = 15;

    private TunNetArgument(uint address, string? bridgeName, string text)
    {
        Address = address;
        BridgeName = bridgeName;
        Text = text;
    }

    /// <summary>The IPv4 address in host order (<c>a&lt;&lt;24 | b&lt;&lt;16 | c&lt;&lt;8 | d</c>); 0 in bridge mode, as in lguest.c.</summary>
    public uint Address { get; }

    /// <summary>The bridge's name in bridge mode, else null.</summary>
    public string? BridgeName { get; }

    /// <summary>True for <c>bridge:NAME</c>.</summary>
    [MemberNotNullWhen(true, nameof(BridgeName))]
    public bool IsBridge => BridgeName is not null;

    /// <summary>The value as given.</summary>
    public string Text { get; }

    /// <summary>Parses a <c>--tunnet</c> value.</summary>
    /// <exception cref="LauncherException">The value is malformed; the message is one line.</exception>
    public static TunNetArgument Parse(string text)
    {
        if (!TryParse(text, out TunNetArgument? result, out string? error))
        {
            ThrowHelper.ThrowLauncher(error);
        }

        return result;
    }

    /// <summary>Parses a <c>--tunnet</c> value, reporting a refusal as one line instead of throwing.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out TunNetArgument? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        string shown = MessageText.Escape(text);
        if (text.StartsWith(BridgePrefix, StringComparison.Ordinal))
        {
            string name = text[BridgePrefix.Length..];
            if (!IsValidInterfaceName(name, out string? why))
            {
                error = $"bad --tunnet value '{shown}': {why}";
                return false;
            }

            result = new TunNetArgument(0, name, text);
            error = null;
            return true;
        }

        if (!TryParseDottedQuad(text, out uint address, out string? problem))
        {
            error = $"bad --tunnet value '{shown}': {problem} (expected an IPv4 address a.b.c.d or bridge:NAME)";
            return false;
        }

        result = new TunNetArgument(address, null, text);
        error = null;
        return true;
    }

    /// <summary>Formats a host-order IPv4 address as a dotted quad.</summary>
    public static string FormatAddress(uint address) => string.Create(
        CultureInfo.InvariantCulture,
        $"{address >> 24}.{(address >> 16) & 0xff}.{(address >> 8) & 0xff}.{address & 0xff}");

    /// <summary>
    /// Parses exactly four dot-separated decimal octets (1 to 3 digits each, 0 to 255) into a
    /// host-order address.
    /// </summary>
    /// <returns>False with a short <paramref name="problem"/> otherwise.</returns>
    public static bool TryParseDottedQuad(string text, out uint address, [NotNullWhen(false)] out string? problem)
    {
        address = 0;
        if (text.Length == 0)
        {
            problem = "empty";
            return false;
        }

        string[] parts = text.Split('.');
        if (parts.Length != 4)
        {
            problem = $"{parts.Length} component(s), not 4";
            return false;
        }

        foreach (string part in parts)
        {
            if (part.Length == 0 || part.Length > 3 || part.AsSpan().IndexOfAnyExceptInRange('0', '9') >= 0)
            {
                problem = $"'{MessageText.Escape(part)}' is not a decimal octet";
                return false;
            }

            uint octet = uint.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
            if (octet > 255)
            {
                problem = $"octet {octet} is over 255";
                return false;
            }

            address = (address << 8) | octet;
        }

        problem = null;
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    /// <summary>The kernel's <c>dev_valid_name()</c> rule, so a bad name fails here rather than in an ioctl.</summary>
    private static bool IsValidInterfaceName(string name, [NotNullWhen(false)] out string? why)
    {
        if (name.Length == 0)
        {
            why = "the bridge name is empty";
            return false;
        }

        if (System.Text.Encoding.UTF8.GetByteCount(name) > MaxInterfaceNameLength)
        {
            why = $"the bridge name is longer than {MaxInterfaceNameLength} bytes";
            return false;
        }

        if (name is "." or ".." || name.AsSpan().IndexOfAny('/', ':') >= 0 || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            why = "the bridge name is not a valid interface name";
            return false;
        }

        why = null;
        return true;
    }
}
