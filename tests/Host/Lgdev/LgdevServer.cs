using System.Diagnostics;
using LguestSim.Host.Fuse;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// A real <c>lguestsim lgdev</c> child process serving the emulated device on a fresh temporary
/// directory. Disposing stops it (SIGTERM, then SIGKILL), detaches the mount by its exact path
/// whatever happened, and removes the directory.
/// </summary>
/// <remarks>The server is never run inside the test process: an in-process exit can deadlock on requests the kernel handed it.</remarks>
public sealed class LgdevServer : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private bool _stopped;

    /// <summary>Starts the server (with <paramref name="extraArguments"/>, e.g. --scenario) and waits until DIR/lguest is there.</summary>
    /// <exception cref="InvalidOperationException">The server exited or the file did not appear within 30 s.</exception>
    public LgdevServer(params string[] extraArguments)
        : this(null, extraArguments)
    {
    }

    private LgdevServer(string? namespaceName, string[] extraArguments)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("lguestsim-lgdev-").FullName;
        TranscriptPath = Directory + ".transcript";
        string dll = Path.Combine(AppContext.BaseDirectory, "lguestsim.dll");
        string[] prefix = namespaceName is null ? ["dotnet"] : ["nsenter", $"--net=/run/netns/{namespaceName}", "dotnet"];
        var psi = new ProcessStartInfo(prefix[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in prefix.Skip(1).Concat([dll, "lgdev", "--mount", Directory, "--transcript", TranscriptPath]).Concat(extraArguments))
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi)!;
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!File.Exists(DevicePath))
        {
            if (_process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                string why = _process.HasExited ? $"exited with {_process.ExitCode}: {_stderr.Result}" : "did not mount within 30 s";
                Dispose();
                throw new InvalidOperationException($"lguestsim lgdev {why}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// Starts the server in network namespace <paramref name="namespaceName"/> with
    /// <paramref name="extraArguments"/>, and waits until DIR/lguest is there.
    /// </summary>
    /// <remarks>
    /// The namespace is entered with <c>nsenter --net</c>, not <c>ip netns exec</c>: the latter
    /// also gives the process a mount namespace of its own, and a FUSE mount made in it would
    /// be invisible to the Launcher.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The server exited or the file did not appear within 30 s.</exception>
    public static LgdevServer InNamespace(string namespaceName, params string[] extraArguments) => new(namespaceName, extraArguments);

    /// <summary>The mount point.</summary>
    public string Directory { get; }

    /// <summary>The emulated device, DIR/lguest.</summary>
    public string DevicePath => Path.Combine(Directory, "lguest");

    /// <summary>Where the server writes its transcript when it stops.</summary>
    public string TranscriptPath { get; }

    /// <summary>Stops the server with SIGTERM and waits for it.</summary>
    /// <returns>Its exit code and its stderr.</returns>
    public (int ExitCode, string Stderr) Stop()
    {
        if (!_stopped && !_process.HasExited)
        {
            using Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }

        _stopped = true;
        _process.WaitForExit();
        return (_process.ExitCode, _stderr.Result);
    }

    /// <summary>What the server printed on its standard output; waits for it to exit.</summary>
    public string StandardOutput()
    {
        _process.WaitForExit();
        return _stdout.Result;
    }

    /// <summary>
    /// Kills the server if the returned timer is not disposed within <paramref name="limit"/>.
    /// A test whose run or break never comes back then fails instead of hanging: killing the
    /// server ends every call it still holds (a caller whose request the server has read
    /// cannot be killed itself until then; it waits uninterruptibly).
    /// </summary>
    public IDisposable Watchdog(TimeSpan limit) => new Timer(_ => Kill(), null, limit, Timeout.InfiniteTimeSpan);

    /// <summary>Waits for the server to exit by itself.</summary>
    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    /// <summary>Whether something is still mounted on <see cref="Directory"/>.</summary>
    public bool IsMounted() => File.ReadAllLines("/proc/self/mounts").Any(l => l.Split(' ')[1] == Directory);

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            Stop();
        }
        finally
        {
            FuseDevice.Unmount(Directory); // EINVAL when the server already did it
            _process.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory);
                File.Delete(TranscriptPath);
            }
            catch (IOException)
            {
                // Still busy: a test left the device open. The temp dir is harmless.
            }
        }
    }
}
