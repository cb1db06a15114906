using LguestSim.Host.Terminal;
using Xunit;

namespace LguestSim.Tests.Host.ConsoleTests;

/// <summary>
/// `lguestsim sim --console=tty` on a real pseudo-terminal: while the guest runs the terminal
/// has ISIG, ICANON and ECHO clear; after every way out it has exactly the settings it had
/// before (spec §5.1; issue "Console device with real terminal behaviour").
/// </summary>
public class TerminalRestoreTests
{
    /// <summary>Every scenario starts like this: say so, then wait for "go" so the test can look at the terminal.</summary>
    private const string Hold = """
        boot
        console.write "ready\n"
        console.expect "go"

        """;

    private static TtyChild StartHeld(string rest, params string[] extra)
    {
        TtyChild child = TtyChild.Start(Hold + rest, extra);
        AssertRawWhileRunning(child);
        return child;
    }

    private static void AssertRawWhileRunning(TtyChild child)
    {
        TerminalSettings during = child.WaitUntilRaw();
        child.WaitForOutput("ready");
        Assert.False(during.SignalKeys);
        Assert.False(during.Canonical);
        Assert.False(during.Echo);

        // Only those three: everything else is as it was (output processing, ICRNL, speeds...).
        Assert.Equal(child.Before.InputModes, during.InputModes);
        Assert.Equal(child.Before.OutputModes, during.OutputModes);
        Assert.Equal(child.Before.ControlModes, during.ControlModes);
        Assert.True(child.Before.SignalKeys && child.Before.Canonical && child.Before.Echo, "a fresh pty starts cooked");
    }

    private static void AssertRestored(TtyChild child) => Assert.Equal(child.Before, child.Current);

    [PtyFact]
    public void NormalEnd_Restores()
    {
        using TtyChild child = StartHeld("""
            console.write "bye\n"
            poweroff
            """);
        child.Type("go"u8);
        Assert.Equal(0, child.WaitForExit());
        AssertRestored(child);

        // No echo while raw: nothing but the guest's own output came between its two lines.
        string shown = child.Output;
        int ready = shown.IndexOf("ready", StringComparison.Ordinal);
        int bye = shown.IndexOf("bye", StringComparison.Ordinal);
        Assert.True(ready >= 0 && bye > ready, shown);
        Assert.DoesNotContain("go", shown[ready..bye], StringComparison.Ordinal);
    }

    [PtyFact]
    public void GuestDeath_Restores()
    {
        using TtyChild child = StartHeld("""
            panic "oops"
            """);
        child.Type("go"u8);
        Assert.Equal(1, child.WaitForExit());
        AssertRestored(child);
        Assert.Contains("end: guest died: CRASH: oops", child.Transcript, StringComparison.Ordinal);
    }

    [PtyFact]
    public void FatalGuestFault_Restores()
    {
        using TtyChild child = StartHeld("""
            ring.desc console 1 5 addr=0x2000000 len=16 flags=2
            ring.publish console 1 5
            ring.kick console 1
            poweroff
            """);
        child.Type("go"u8);
        Assert.Equal(1, child.WaitForExit());
        AssertRestored(child);
        Assert.Contains("end: guest fault ConsoleOutputWritable:", child.Transcript, StringComparison.Ordinal);
    }

    [PtyFact]
    public void ThreeQuickCtrlC_Exit2AndRestore()
    {
        // Each ^C is typed only once the guest has shown that it got the previous one, so
        // each arrives in a read of its own. Three take a few tens of milliseconds; should a
        // loaded machine stretch a series past the window (the third ^C two whole seconds
        // after the first), that series resets and the next three try again.
        var scenario = new System.Text.StringBuilder("boot\nconsole.write \"ready\\n\"\n");
        for (int i = 1; i <= 9; i++)
        {
            scenario.Append("console.expect \"\\x03\"\n").Append($"console.write \"ack{i}\\n\"\n");
        }

        scenario.Append("poweroff\n");
        using TtyChild child = TtyChild.Start(scenario.ToString());
        AssertRawWhileRunning(child);
        int typed = 0;
        while (typed < 9)
        {
            child.Type([3]);
            typed++;
            if (!child.WaitForOutputOrExit($"ack{typed}\r\n"))
            {
                break;
            }
        }

        Assert.Equal(2, child.WaitForExit());
        Assert.Equal(0, typed % 3);
        AssertRestored(child);
        string transcript = child.Transcript!;
        Assert.Contains("end: exit requested: three Ctrl-C within a second", transcript, StringComparison.Ordinal);
        Assert.Contains("exit status 2", transcript, StringComparison.Ordinal);
        Assert.DoesNotContain($"ack{typed}", child.Output, StringComparison.Ordinal);
    }

    [PtyFact]
    public void UnhandledException_Restores()
    {
        // The hidden test option throws from the console port at the guest's first write,
        // on the run loop's thread; nothing catches it.
        using TtyChild child = TtyChild.Start(
            """
            boot
            console.expect "go"
            console.write "boom\n"
            poweroff
            """,
            "--test-crash-on-console-output");
        child.WaitUntilRaw();
        child.Type("go"u8);
        int status = child.WaitForExit();
        Assert.NotEqual(0, status);
        Assert.Contains("test-only crash on console output", child.Stderr, StringComparison.Ordinal);
        Assert.Null(child.Transcript);
        AssertRestored(child);
    }

    [PtyFact]
    public void Sigterm_Restores()
    {
        using TtyChild child = StartHeld("console.write \"never\\n\"\n");
        child.Signal("TERM");
        Assert.Equal(128 + 15, child.WaitForExit());
        AssertRestored(child);
    }

    [PtyFact]
    public void Sighup_Restores()
    {
        using TtyChild child = StartHeld("console.write \"never\\n\"\n");
        child.Signal("HUP");
        Assert.Equal(128 + 1, child.WaitForExit());
        AssertRestored(child);
    }

    [PtyFact]
    public void StopAndContinue_StaysRawThenRestores()
    {
        // On SIGCONT the .NET runtime puts back the terminal settings it saw at start-up
        // (the user's); lguestsim must keep its raw settings for the rest of the run.
        using TtyChild child = StartHeld("""
            console.write "bye\n"
            poweroff
            """);
        child.Signal("STOP");
        child.Signal("CONT");
        Thread.Sleep(500);
        TerminalSettings after = child.Current;
        Assert.False(after.SignalKeys || after.Canonical || after.Echo, after.ToString());
        child.Type("go"u8);
        Assert.Equal(0, child.WaitForExit());
        AssertRestored(child);
    }

    [PtyFact]
    public void StdinNotATerminal_TerminalLeftAlone()
    {
        // stdin is /dev/null, stdout the pty: lguest only ever touches stdin's settings.
        using TtyChild child = TtyChild.Start(
            """
            boot
            console.write "ready\n"
            idle
            console.write "bye\n"
            poweroff
            """,
            stdinIsTerminal: false);
        child.WaitForOutput("ready");
        Assert.Equal(child.Before, child.Current);
        Assert.Equal(0, child.WaitForExit());
        Assert.Equal(child.Before, child.Current);
        Assert.Contains("launcher: warning: console: input reached end of file", child.Transcript, StringComparison.Ordinal);
    }
}
