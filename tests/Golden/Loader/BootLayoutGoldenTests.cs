using LguestSim.Engine.Devices;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Memory;
using LguestSim.Tests.Golden.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Golden.Loader;

/// <summary>
/// The boot layout of each committed kernel fixture, with and without the initrd fixture, at
/// 64 MiB and at an odd 37 MiB (9472 pages: the last PTE page is partly empty), pinned in
/// fixtures/expected/loader/.
/// </summary>
public sealed class BootLayoutGoldenTests
{
    private static readonly string[] s_kernelArguments = ["root=/dev/vda", "console=hvc0", "lguest_test=1"];

    [Theory]
    [InlineData("vmlinux.elf", "elf", 64u, false)]
    [InlineData("vmlinux.elf", "elf", 64u, true)]
    [InlineData("vmlinux.elf", "elf", 37u, false)]
    [InlineData("vmlinux.elf", "elf", 37u, true)]
    [InlineData("bzImage.bin", "bzimage", 64u, false)]
    [InlineData("bzImage.bin", "bzimage", 64u, true)]
    [InlineData("bzImage.bin", "bzimage", 37u, false)]
    [InlineData("bzImage.bin", "bzimage", 37u, true)]
    public void BootLayout(string kernelFile, string label, uint mib, bool withInitrd)
    {
        ulong mem = mib * 1048576UL;
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(mem), mem);
        var builder = new BootImageBuilder(memory, mem);

        // Streams with bare names, so no host path reaches the golden text.
        using (var kernel = File.OpenRead(Path.Combine(KernelFixtures.Dir, kernelFile)))
        {
            builder.LoadKernel(kernel, kernelFile);
        }

        if (withInitrd)
        {
            using var initrd = File.OpenRead(Path.Combine(KernelFixtures.Dir, "initrd.img"));
            builder.LoadInitrd(initrd, "initrd.img");
        }

        BootSetup setup = builder.Finish(s_kernelArguments);
        string name = $"loader/{label}-{mib}m{(withInitrd ? "-initrd" : "")}.txt";
        GoldenFile.Verify(name, BootLayoutReport.Format(setup, memory));
    }
}
