using System.Diagnostics;
using System.Globalization;
using LguestSim.Tests.Shared;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// A network namespace of the test's own, with a unique name: every tap, bridge, address and
/// frame of a net test lives and dies in it, so nothing reaches the host's own network.
/// IPv6 is switched off in it before anything is created, so that the only traffic is the
/// IPv4 the test asks for (all in 169.254.0.0/16). Disposing deletes it, whatever happened.
/// </summary>
public sealed class NetNamespace : IDisposable
{
    private static int s_counter;
    private bool _deleted;

    private NetNamespace(string name) => Name = name;

    /// <summary>The namespace's name (lgsim-PID-N).</summary>
    public string Name { get; }

    /// <summary>Creates a fresh namespace.</summary>
    public static NetNamespace Create()
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"lgsim-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}");
        Command.Check("ip", "netns", "add", name);
        var ns = new NetNamespace(name);
        try
        {
            // Absent when the kernel has no IPv6; then there is nothing to switch off.
            Command.Run("ip", "netns", "exec", name, "sh", "-c",
                "for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -e $f ] && echo 1 > $f; done; true");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Whether a namespace of this name exists (for checking that one was deleted).</summary>
    public static bool Exists(string name) =>
        Command.Check("ip", "netns", "list").Stdout.Split('\n').Any(l => l.Split(' ')[0] == name);

    /// <summary>Runs <c>ip -n NS ARGS</c> and returns its output; throws if it fails.</summary>
    public string Ip(params string[] args) => Command.Check(["ip", "-n", Name, .. args]).Stdout;

    /// <summary>Runs the real <c>lguestsim</c> inside the namespace: <c>ip netns exec NS dotnet lguestsim.dll ARGS</c>.</summary>
    public CliProcess.Result Lguestsim(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "lguestsim.dll");
        Command.Result r = Command.Run(["ip", "netns", "exec", Name, "dotnet", dll, .. args]);
        return new CliProcess.Result(r.ExitCode, r.Stdout, r.Stderr);
    }

    /// <summary>Starts <c>ip -n NS monitor link</c>: the kernel's own notifications of link changes.</summary>
    public LinkMonitor MonitorLinks() => new(this, "link");

    /// <summary>Starts <c>ip -n NS monitor link neigh</c>: the kernel's own notifications of link changes and of the neighbour (ARP) entries it learns.</summary>
    public LinkMonitor MonitorNeighbours() => new(this, "link", "neigh");

    /// <summary>Deletes the namespace (its taps and bridges go with it).</summary>
    public void Dispose()
    {
        if (_deleted)
        {
            return;
        }

        _deleted = true;
        Command.Run("ip", "netns", "del", Name);
    }

    /// <summary>A background <c>ip monitor link</c> (or <c>neigh</c>), stopped and read by <see cref="Stop"/>.</summary>
    public sealed class LinkMonitor : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();
        private readonly object _gate = new();

        internal LinkMonitor(NetNamespace ns, params string[] what)
        {
            var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "-n", ns.Name, "monitor" }.Concat(what))
            {
                psi.ArgumentList.Add(a);
            }

            _process = Process.Start(psi)!;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_gate)
                    {
                        _output.Append(e.Data).Append('\n');
                    }
                }
            };
            _process.BeginOutputReadLine();
        }

        /// <summary>What the monitor printed so far.</summary>
        public string Output
        {
            get
            {
                lock (_gate)
                {
                    return _output.ToString();
                }
            }
        }

        /// <summary>Waits until the output holds <paramref name="text"/>.</summary>
        public bool WaitFor(string text, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                if (Output.Contains(text, StringComparison.Ordinal))
                {
                    return true;
                }

                Thread.Sleep(20);
            }

            return false;
        }

        /// <summary>Stops the monitor and returns all it printed.</summary>
        public string Stop()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.WaitForExit();
            return Output;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            Stop();
            _process.Dispose();
        }
    }
}

/// <summary>Runs a host command to completion (2 minutes at most).</summary>
public static class Command
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{string.Join(' ', command)} did not finish in 2 minutes");
        }

        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs the command and throws, with its stderr, when it fails.</summary>
    public static Result Check(params string[] command)
    {
        Result r = Run(command);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} failed ({r.ExitCode}): {r.Stderr.Trim()}");
        }

        return r;
    }
}
