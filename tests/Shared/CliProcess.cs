using System.Diagnostics;

namespace LguestSim.Tests.Shared;

/// <summary>Runs the real `lguestsim` program (the Cli project's build output) as a child process.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "lguestsim.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("lguestsim did not finish in 120 s");
        }

        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
