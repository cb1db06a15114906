using System.Diagnostics;
using Xunit;

namespace LguestSim.Tests.Host.ConsoleTests;

/// <summary>
/// Console input through the real stdin with `--console=tty`: bytes typed on a pty reach the
/// simulated guest unchanged but for the terminal's own input processing, and stdin at end
/// of file gives the warning while the guest carries on (spec §5.1, §9 "Console").
/// </summary>
public class TtyInputTests
{
    [PtyFact]
    public void BytesTypedOnThePty_ReachTheGuest()
    {
        // An arrow key, a DEL and Return: with ICANON off nothing is edited or held back for a
        // line, and only ISIG/ICANON/ECHO were changed, so ICRNL still turns \r into \n.
        using TtyChild child = TtyChild.Start("""
            boot
            console.write "ready\n"
            console.expect "\x1b[Ax\x7f\n"
            console.write "ok\n"
            poweroff
            """);
        child.WaitUntilRaw();
        child.WaitForOutput("ready");
        child.Type("\x1b[Ax\x7f\r"u8);
        child.WaitForOutput("ok");
        Assert.Equal(0, child.WaitForExit());

        string transcript = child.Transcript!;
        Assert.Contains("host: console read \"\\x1b[Ax\\x7f\\n\"", transcript, StringComparison.Ordinal);
        Assert.Contains("guest: console got \"\\x1b[Ax\\x7f\\n\"", transcript, StringComparison.Ordinal);
        Assert.Contains("console> \"ok\\n\"", transcript, StringComparison.Ordinal);
        Assert.Equal(child.Before, child.Current);
    }

    [PtyFact]
    public void LoneCtrlC_IsData_NotASignal()
    {
        // The pty is lguestsim's controlling terminal and it is in the foreground: with ISIG
        // on, this ^C would kill it with SIGINT. Two lone ^C do not end the run either.
        using TtyChild child = TtyChild.Start("""
            boot
            console.write "ready\n"
            console.expect "\x03"
            console.write "one\n"
            console.expect "\x03"
            console.write "two\n"
            poweroff
            """);
        child.WaitUntilRaw();
        child.WaitForOutput("ready");
        child.Type([3]);
        child.WaitForOutput("one");
        child.Type([3]);
        Assert.Equal(0, child.WaitForExit());
        Assert.Contains("console> \"two\\n\"", child.Transcript, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StdinAtEndOfFile_WarnsAndTheGuestKeepsRunning()
    {
        string directory = Directory.CreateTempSubdirectory("lguestsim-eof-").FullName;
        try
        {
            string scenario = Path.Combine(directory, "eof.scenario");
            string transcriptPath = Path.Combine(directory, "eof.transcript");
            File.WriteAllText(scenario, """
                boot
                console.expect "abc\n"
                idle
                console.write "still here\n"
                poweroff
                """);
            var psi = new ProcessStartInfo("dotnet")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "lguestsim.dll"), "sim", "--console=tty", "--scenario", scenario, "--transcript", transcriptPath })
            {
                psi.ArgumentList.Add(a);
            }

            using Process p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            p.StandardInput.Write("abc\n");
            p.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TtyChild.Patience);
            await p.WaitForExitAsync(timeout.Token);
            string output = await stdout;
            string errors = await stderr;

            Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}; stderr: {errors}");
            string transcript = File.ReadAllText(transcriptPath);
            Assert.Contains("guest: console got \"abc\\n\"", transcript, StringComparison.Ordinal);
            Assert.Contains("launcher: warning: console: input reached end of file; ignoring it from now on", transcript, StringComparison.Ordinal);
            Assert.Contains("console> \"still here\\n\"", transcript, StringComparison.Ordinal);
            Assert.Contains("exit status 0", transcript, StringComparison.Ordinal);

            // The warning came before the guest's last write, and that write reached stdout for real.
            Assert.True(transcript.IndexOf("warning: console: input reached end of file", StringComparison.Ordinal) < transcript.IndexOf("console> \"still here", StringComparison.Ordinal));
            Assert.StartsWith("still here\n", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
