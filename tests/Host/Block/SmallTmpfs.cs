using System.Diagnostics;

namespace LguestSim.Tests.Host.Block;

/// <summary>A tmpfs of a given size mounted on a fresh directory, unmounted and removed on dispose.</summary>
public sealed class SmallTmpfs : IDisposable
{
    private SmallTmpfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount's syntax, e.g. "256k").</summary>
    public static SmallTmpfs Mount(string size)
    {
        string dir = Directory.CreateTempSubdirectory("lguestsim-tmpfs-").FullName;
        (int rc, string err) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", dir);
        if (rc != 0)
        {
            Directory.Delete(dir);
            throw new InvalidOperationException($"mount -t tmpfs failed ({rc}): {err}");
        }

        return new SmallTmpfs(dir);
    }

    public void Dispose()
    {
        Run("umount", Path);
        Directory.Delete(Path, recursive: true);
    }

    private static (int ExitCode, string Stderr) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, err.Trim());
    }
}
