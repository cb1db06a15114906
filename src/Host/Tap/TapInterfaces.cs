using System.Globalization;

namespace LguestSim.Host.Tap;

/// <summary>
/// The tap interfaces of this network namespace, found in sysfs: an interface whose
/// <c>tun_flags</c> file exists is a tun/tap device, and the <c>IFF_TAP</c> bit of it says tap.
/// </summary>
/// <remarks>
/// sysfs shows the network namespace of whoever mounted it; <c>ip netns exec</c> mounts a
/// fresh one for the namespace, so a process started that way sees its own taps. Ordered by
/// interface index, which is creation order: a Launcher's taps in the order of its
/// <c>--tunnet</c> options.
/// </remarks>
public static class TapInterfaces
{
    private const uint IFF_TAP = 0x0002;

    /// <summary>The names of the tap interfaces under <paramref name="sysClassNet"/>, by interface index.</summary>
    /// <param name="sysClassNet">The sysfs net class directory (a test gives a fake one).</param>
    public static IReadOnlyList<string> List(string sysClassNet = "/sys/class/net")
    {
        var taps = new List<(int Index, string Name)>();
        foreach (string dir in Directory.EnumerateFileSystemEntries(sysClassNet))
        {
            string flagsPath = Path.Combine(dir, "tun_flags");
            string indexPath = Path.Combine(dir, "ifindex");
            if (!File.Exists(flagsPath) || !File.Exists(indexPath))
            {
                continue;
            }

            if (!TryParseHex(File.ReadAllText(flagsPath).Trim(), out uint flags) || (flags & IFF_TAP) == 0)
            {
                continue;
            }

            if (int.TryParse(File.ReadAllText(indexPath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                taps.Add((index, Path.GetFileName(dir)));
            }
        }

        return taps.OrderBy(t => t.Index).Select(t => t.Name).ToArray();
    }

    private static bool TryParseHex(string text, out uint value)
    {
        value = 0;
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
