using System.Runtime.InteropServices;

namespace LguestSim.Engine;

/// <summary>
/// A host operation failed: opening /dev/net/tun, a tap ioctl, a read from the tap. The
/// third error tier of the architecture: not the guest's fault and not a bad option, so
/// the caller of the Launcher (or the CLI) reports it as one line and exits with status 1.
/// </summary>
/// <remarks>
/// The host layer's P/Invoke wrappers return a negative errno, read at once; the layer
/// above turns it into this exception with the operation that failed, as lguest.c's
/// <c>err(1, "…")</c> did with <c>errno</c>.
/// </remarks>
public sealed class LguestHostException : IOException
{
    /// <summary>Creates the exception for <paramref name="operation"/> failing with <paramref name="errno"/> (0: no errno).</summary>
    /// <param name="operation">What was being done, e.g. "cannot add tap0 to bridge br0".</param>
    /// <param name="errno">The positive errno value, or 0 when the failure has none (a read that returned 0).</param>
    public LguestHostException(string operation, int errno)
        : base(errno == 0 ? operation : $"{operation}: {Marshal.GetPInvokeErrorMessage(errno)}")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>What was being done.</summary>
    public string Operation { get; }

    /// <summary>The errno value (positive), or 0.</summary>
    public int Errno { get; }
}
