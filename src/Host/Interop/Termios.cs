using LguestSim.Host.Terminal;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary>The local modes the Launcher clears for the run: <c>ISIG | ICANON | ECHO</c> (spec §5.1).</summary>
    internal static uint RawModeClearedLocalModes => LibC.ISIG | LibC.ICANON | LibC.ECHO;

    /// <summary><c>ISIG</c>: the interrupt, quit and suspend keys raise signals.</summary>
    internal static uint LocalModeSignals => LibC.ISIG;

    /// <summary><c>ICANON</c>: input is delivered a line at a time.</summary>
    internal static uint LocalModeCanonical => LibC.ICANON;

    /// <summary><c>ECHO</c>: typed characters are echoed.</summary>
    internal static uint LocalModeEcho => LibC.ECHO;

    /// <summary><c>tcgetattr(3)</c>; returns 0 or a negative errno (read at once), e.g. -ENOTTY.</summary>
    internal static unsafe int GetTerminalAttributes(SafeFileHandle fd, out TerminalSettings? settings)
    {
        settings = null;
        termios t = default;
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);

            // SAFETY: &t is a zeroed local struct termios, valid for the call.
            int rc = LibC.tcgetattr((int)fd.DangerousGetHandle(), &t);
            if (rc != 0)
            {
                return -LibC.errno;
            }
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }

        // SAFETY: t is a local unmanaged struct; the span covers exactly its bytes.
        byte[] image = new ReadOnlySpan<byte>(&t, sizeof(termios)).ToArray();
        settings = new TerminalSettings(image, t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
        return 0;
    }

    /// <summary><c>tcsetattr(3)</c> with <c>TCSANOW</c>; returns 0 or a negative errno (read at once).</summary>
    /// <remarks>
    /// TCSANOW, as lguest.c uses: TCSADRAIN would wait for unread output to drain, and at
    /// exit nobody may be reading it.
    /// </remarks>
    internal static unsafe int SetTerminalAttributes(SafeFileHandle fd, TerminalSettings settings, uint clearLocalModes = 0)
    {
        termios t = default;
        ReadOnlySpan<byte> image = settings.Image;
        if (image.Length != sizeof(termios))
        {
            throw new ArgumentException("not a struct termios image", nameof(settings));
        }

        // SAFETY: t is a local unmanaged struct of exactly image.Length bytes.
        image.CopyTo(new Span<byte>(&t, sizeof(termios)));
        t.c_lflag &= ~clearLocalModes;
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);

            // SAFETY: &t is a local struct termios, valid for the call.
            int rc = LibC.tcsetattr((int)fd.DangerousGetHandle(), (int)LibC.TCSANOW, &t);
            return rc == 0 ? 0 : -LibC.errno;
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }
}
