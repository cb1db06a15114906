namespace LguestSim.Tests.Host.Infrastructure;

/// <summary>
/// Why a host test cannot run here, or null when it can. Tests call these and skip (with
/// the reason shown) only when the resource is truly missing; CI runs as root and has them.
/// </summary>
public static class Requires
{
    /// <summary>Null when running as root.</summary>
    public static string? Root() => Environment.UserName == "root" || GetEuid() == 0 ? null : "needs root (CI runs as root)";

    /// <summary>Null when /dev/net/tun exists and we are root.</summary>
    public static string? Tun() => Root() ?? (File.Exists("/dev/net/tun") ? null : "/dev/net/tun is missing");

    /// <summary>Null when the `ip` command (iproute2) is on PATH.</summary>
    public static string? Ip() => OnPath("ip") ? null : "iproute2 'ip' is not installed";

    /// <summary>Whether an executable is on PATH.</summary>
    public static bool OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, name)));

    private static uint GetEuid()
    {
        try
        {
            string status = File.ReadAllText("/proc/self/status");
            string line = status.Split('\n').First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            return uint.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return uint.MaxValue;
        }
    }
}
