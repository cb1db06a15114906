using System.Diagnostics;
using Xunit;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>Runs <c>lguestsim run</c> (or anything before it, such as <c>ip netns exec NS</c>) as a child with its standard input at end of file.</summary>
internal static class LauncherProcess
{
    /// <summary>The built <c>lguestsim.dll</c> beside the tests.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "lguestsim.dll");

    /// <summary>
    /// Runs <paramref name="command"/> (program first) with stdin closed at once, so the Launcher's console
    /// sees end of file and no terminal; fails the test if it has not finished in 60 s.
    /// </summary>
    public static (int Exit, string Stdout, string Stderr) Run(IReadOnlyList<string> command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("lguestsim run did not finish in 60 s");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
