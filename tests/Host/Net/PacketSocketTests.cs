using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Tap;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// <see cref="PacketSocket"/> on a real tap in a namespace of the test's own: a frame sent on
/// the socket reaches the tap's reader (as the guest would receive it), and a frame the tap's
/// reader writes (as the guest sends) is received, the socket's own sends skipped.
/// </summary>
public sealed class PacketSocketTests
{
    [NetFact]
    public void FramesCrossBetweenThePacketSocketAndTheTapsReader_BothWays()
    {
        using NetNamespace ns = NetNamespace.Create();
        TunTap? tap = null;
        PacketSocket? socket = null;
        PacketSocket? other = null;
        NamespaceThread.Run(ns, () =>
        {
            tap = TunTap.Open(TunNetArgument.Parse("169.254.31.1"), "lgpk%d");
            socket = PacketSocket.Open(tap.Name);
            other = PacketSocket.Open(tap.Name);
        });

        using (tap!)
        using (socket!)
        using (other!)
        {
            Assert.Equal(tap!.Name, socket!.InterfaceName);
            var memory = new ManagedGuestMemory(8192);

            // Host → tap reader (guest rx).
            byte[] toReader = Frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x10, 100);
            socket.Send(toReader);
            Assert.True(WaitReady(tap.Input, TimeSpan.FromSeconds(5)), "the frame never reached the tap's reader");
            int n = tap.Read(memory, [new GuestBuffer(0, 2048)]);
            Assert.Equal(toReader, memory.GetSpan(0, (ulong)n).ToArray());

            // Tap reader → host (guest tx). Before it, another sender on this host sends a frame
            // out of the tap: the socket sees that one as outgoing and must skip it.
            other!.Send(Frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x55, 50));
            byte[] fromReader = Frame(tap.InterfaceAddress.ToArray(), 0x20, 77);
            memory.Write(4096, fromReader);
            Assert.Equal(fromReader.Length, tap.Write(memory, [new GuestBuffer(4096, (uint)fromReader.Length)]));
            Assert.True(socket.TryReceiveIncoming(TimeSpan.FromSeconds(5), out byte[] got), "the tap reader's frame never came in");
            Assert.Equal(fromReader, got);

            // Nothing else: the timeout is honoured and says so.
            Assert.False(socket.TryReceiveIncoming(TimeSpan.FromMilliseconds(200), out byte[] none));
            Assert.Empty(none);
        }
    }

    [Fact]
    public void OpenOnAMissingInterface_IsAHostErrorNamingIt()
    {
        var e = Assert.Throws<LguestSim.Engine.LguestHostException>(() => PacketSocket.Open("lgnosuch0"));
        Assert.Contains("lgnosuch0", e.Message, StringComparison.Ordinal);
    }

    internal static byte[] Frame(byte[] dst, byte seed, int payload)
    {
        byte[] frame = new byte[14 + payload];
        dst.CopyTo(frame, 0);
        byte[] src = [0x02, 0x00, 0x00, 0x00, 0x00, 0xfe];
        src.CopyTo(frame, 6);
        frame[12] = 0x88;
        frame[13] = 0xb5;
        for (int i = 0; i < payload; i++)
        {
            frame[14 + i] = (byte)(seed + i);
        }

        return frame;
    }

    internal static bool WaitReady(InputSource input, TimeSpan timeout)
    {
        DateTime end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            if (input.IsReady)
            {
                return true;
            }

            Thread.Sleep(10);
        }

        return false;
    }
}
