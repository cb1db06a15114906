using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Loader;

/// <summary>The whole of spec §7.8 step 7 in one call: what a Launcher runs before <c>LHREQ_INITIALIZE</c>.</summary>
public static class BootLoader
{
    /// <summary>
    /// Loads the kernel and (optionally) the initrd, builds the page tables and writes
    /// boot_params and the command line into <paramref name="memory"/>.
    /// </summary>
    /// <param name="memory">Zeroed guest memory covering <c>[0, memorySize)</c>.</param>
    /// <param name="memorySize"><c>mem</c> in bytes.</param>
    /// <param name="kernelPath">The vmlinux or bzImage.</param>
    /// <param name="initrdPath">The initrd, or null.</param>
    /// <param name="kernelArguments">Words of the kernel command line.</param>
    /// <returns>Entry point, page directory and the rest; then call
    /// <c>channel.Initialize(guestLimit / 4096, setup.PageDirectory, setup.Entry)</c>.</returns>
    /// <exception cref="LauncherException">Any file is unreadable or malformed, or anything does not fit.</exception>
    public static BootSetup Load(GuestMemory memory, ulong memorySize, string kernelPath, string? initrdPath, IEnumerable<string> kernelArguments)
    {
        var builder = new BootImageBuilder(memory, memorySize);
        builder.LoadKernel(kernelPath);
        if (initrdPath is not null)
        {
            builder.LoadInitrd(initrdPath);
        }

        return builder.Finish(kernelArguments);
    }

    /// <summary>Same as the other overload, with everything taken from a parsed command line.</summary>
    /// <exception cref="LauncherException">Any file is unreadable or malformed, or anything does not fit.</exception>
    public static BootSetup Load(GuestMemory memory, LauncherCommandLine commandLine) =>
        Load(memory, commandLine.MemorySize, commandLine.KernelPath, commandLine.InitrdPath, commandLine.KernelArguments);
}
