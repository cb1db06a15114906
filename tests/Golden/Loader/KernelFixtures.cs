using System.Diagnostics;
using LguestSim.Tests.Golden.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Golden.Loader;

/// <summary>Where the kernel fixtures live, and whether this machine can rebuild them.</summary>
internal static class KernelFixtures
{
    public static string Dir => Path.Combine(GoldenFile.RepoRoot, "fixtures", "kernels");

    public static readonly string[] Outputs = ["vmlinux.elf", "bzImage.bin", "initrd.img"];

    /// <summary>Null when as, ld, objcopy and sh are on PATH; otherwise why the rebuild test is skipped.</summary>
    public static string? MissingTools { get; } = FindMissingTools();

    private static string? FindMissingTools()
    {
        string[] tools = ["sh", "as", "ld", "objcopy"];
        string[] path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        string[] missing = tools.Where(t => !path.Any(dir => File.Exists(Path.Combine(dir, t)))).ToArray();
        return missing.Length == 0 ? null : $"binutils not found on PATH ({string.Join(", ", missing)} missing): cannot rebuild fixtures/kernels";
    }
}

/// <summary>A fact that is skipped, with the reason shown, where binutils is missing.</summary>
public sealed class BinutilsFactAttribute : FactAttribute
{
    public BinutilsFactAttribute()
    {
        if (KernelFixtures.MissingTools is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>The committed kernel images are exactly what fixtures/kernels/build.sh makes from the sources.</summary>
public sealed class KernelFixtureBuildTests
{
    [BinutilsFact]
    public void CommittedImages_EqualAFreshBuild()
    {
        string outDir = Directory.CreateTempSubdirectory("lguestsim-kernels-").FullName;
        try
        {
            var psi = new ProcessStartInfo("sh")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(Path.Combine(KernelFixtures.Dir, "build.sh"));
            psi.ArgumentList.Add(outDir);
            using Process process = Process.Start(psi)!;
            string stdout = process.StandardOutput.ReadToEnd();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"build.sh failed with {process.ExitCode}:\n{stdout}{stderr}");

            foreach (string name in KernelFixtures.Outputs)
            {
                byte[] committed = File.ReadAllBytes(Path.Combine(KernelFixtures.Dir, name));
                byte[] built = File.ReadAllBytes(Path.Combine(outDir, name));
                Assert.True(committed.AsSpan().SequenceEqual(built), $"fixtures/kernels/{name} differs from a fresh build.sh output ({committed.Length} vs {built.Length} bytes); rebuild and commit it");
            }
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void CommittedImages_HaveTheAdvertisedShape()
    {
        byte[] elf = File.ReadAllBytes(Path.Combine(KernelFixtures.Dir, "vmlinux.elf"));
        Assert.Equal([0x7F, (byte)'E', (byte)'L', (byte)'F', 1, 1], elf[..6]);
        Assert.Equal(2, BitConverter.ToUInt16(elf, 44)); // two program headers, both PT_LOAD
        Assert.Equal(1u, BitConverter.ToUInt32(elf, 52));
        Assert.Equal(1u, BitConverter.ToUInt32(elf, 84));
        Assert.True(BitConverter.ToUInt32(elf, 84 + 20) > BitConverter.ToUInt32(elf, 84 + 16), "data segment has p_memsz > p_filesz");

        byte[] bz = File.ReadAllBytes(Path.Combine(KernelFixtures.Dir, "bzImage.bin"));
        Assert.Equal("HdrS"u8.ToArray(), bz[0x202..0x206]);
        Assert.Equal(2, bz[0x1F1]);
        Assert.Equal(0x100000u, BitConverter.ToUInt32(bz, 0x214));
    }
}
