using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>execv(3)</c>: does not return on success; -1 with errno set otherwise.</summary>
    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true)]
    internal static unsafe partial int Execv(byte* path, byte** argv);

    /// <summary>
    /// <c>execv(program, arguments)</c> with each argument a NUL-terminated word: returns the
    /// errno when the exec fails (it does not return otherwise).
    /// </summary>
    internal static unsafe int Execv(ReadOnlySpan<byte> program, List<byte[]> arguments)
    {
        byte[] path = new byte[program.Length + 1];
        program.CopyTo(path);
        var pins = new GCHandle[arguments.Count];
        byte** argv = stackalloc byte*[arguments.Count + 1];
        try
        {
            for (int i = 0; i < arguments.Count; i++)
            {
                pins[i] = GCHandle.Alloc(arguments[i], GCHandleType.Pinned);
                argv[i] = (byte*)pins[i].AddrOfPinnedObject();
            }

            argv[arguments.Count] = null;

            // SAFETY: p is the pinned NUL-terminated path; argv holds pinned NUL-terminated words
            // and a final null, all alive until after the call (which replaces the process on success).
            fixed (byte* p = path)
            {
                Sys.Execv(p, argv);
                return Marshal.GetLastPInvokeError();
            }
        }
        finally
        {
            foreach (GCHandle h in pins)
            {
                if (h.IsAllocated)
                {
                    h.Free();
                }
            }
        }
    }
}
