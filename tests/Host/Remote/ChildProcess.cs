using System.Diagnostics;
using System.Globalization;

namespace LguestSim.Tests.Host.Remote;

/// <summary>
/// A real second process to reach into: <c>cat</c> waiting on a pipe for input that never
/// comes. Its mappings come from <c>/proc/PID/maps</c>; disposing kills and reaps it.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    public ChildProcess()
    {
        var psi = new ProcessStartInfo("cat") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        _process = Process.Start(psi)!;
    }

    public int Id => _process.Id;

    /// <summary>The first mapping whose /proc/PID/maps line ends with <paramref name="name"/> and whose file offset is <paramref name="offset"/>.</summary>
    public (ulong Start, ulong End, string Path) Mapping(Func<string, bool> name, ulong offset = 0)
    {
        foreach (string line in File.ReadAllLines($"/proc/{Id}/maps"))
        {
            string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            string path = f.Length > 5 ? f[5].Trim() : string.Empty;
            if (!name(path) || ulong.Parse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != offset)
            {
                continue;
            }

            string[] range = f[0].Split('-');
            return (ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), path);
        }

        throw new InvalidOperationException($"no such mapping in process {Id}");
    }

    /// <summary>Every mapping: start, end, permissions (rwxp) and path (empty when anonymous).</summary>
    public IReadOnlyList<(ulong Start, ulong End, string Perms, string Path)> Mappings() =>
        File.ReadAllLines($"/proc/{Id}/maps").Select(line =>
        {
            string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            string[] range = f[0].Split('-');
            return (ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), f[1], f.Length > 5 ? f[5].Trim() : string.Empty);
        }).ToArray();

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.WaitForExit();
        _process.Dispose();
    }
}
