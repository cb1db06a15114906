using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Devices;

/// <summary>
/// The device page at guest physical <c>mem</c> and the page allocator above guest RAM:
/// where the Launcher tells the guest what devices exist.
/// </summary>
/// <remarks>
/// <para>
/// The page is a list of packed records (spec §3.2), each right after the previous
/// device's last config byte, ended by a zero type byte (the page starts zeroed). The
/// guest may scribble on all of it; after boot the engine reads back only each device's
/// <c>status</c> byte and its feature-ack half. Every length, offset and offered feature
/// bit it needs is kept here, in our own memory: a guest that rewrites <c>num_vq</c> or
/// <c>config_len</c> cannot make the Launcher look somewhere else.
/// </para>
/// <para>
/// Pages for the page itself and for vrings come from <see cref="AllocatePages"/>
/// (lguest.c <c>get_pages()</c>): contiguous, in creation order, from <c>guest_limit</c>
/// upwards, never past <c>guest_max = mem + 256 pages</c>. Interrupts are numbered from 1 in
/// queue creation order (0 is the timer).
/// </para>
/// </remarks>
public sealed class DevicePage
{
    private readonly List<DeviceRecord> _devices = new();
    private int _nextIrq = 1;

    /// <summary>Sets up the allocator over <paramref name="memory"/> and allocates the device page itself.</summary>
    /// <param name="memory">
    /// Guest memory whose <see cref="GuestMemory.Limit"/> is still <c>mem</c> (a page multiple)
    /// and whose capacity covers <c>mem + 256 pages</c> (see <see cref="CapacityFor"/>).
    /// </param>
    /// <exception cref="ArgumentException">The memory does not have that shape.</exception>
    public DevicePage(GuestMemory memory)
    {
        ulong mem = memory.Limit;
        if (mem == 0 || mem % LguestLayout.PageSize != 0 || memory.Capacity < CapacityFor(mem))
        {
            throw new ArgumentException($"guest memory must be a non-zero page multiple with {LguestLayout.DevicePages} pages above it", nameof(memory));
        }

        Memory = memory;
        MemorySize = mem;
        GuestMax = CapacityFor(mem);
        Address = AllocatePages(1);
    }

    /// <summary>Backing size needed for a guest of <paramref name="mem"/> bytes: RAM plus 256 device pages.</summary>
    public static ulong CapacityFor(ulong mem) => mem + ((ulong)LguestLayout.DevicePages * LguestLayout.PageSize);

    /// <summary>Guest memory.</summary>
    public GuestMemory Memory { get; }

    /// <summary><c>mem</c>: guest RAM size in bytes.</summary>
    public ulong MemorySize { get; }

    /// <summary>Guest-physical address of the device page (always <c>mem</c>).</summary>
    public ulong Address { get; }

    /// <summary><c>guest_max</c>: the ceiling for device allocations.</summary>
    public ulong GuestMax { get; }

    /// <summary><c>guest_limit</c>: the top of everything allocated so far.</summary>
    public ulong GuestLimit => Memory.Limit;

    /// <summary>Devices in page (and creation) order.</summary>
    public IReadOnlyList<DeviceRecord> Devices => _devices;

    /// <summary>Offset in the page where the next device record would start.</summary>
    internal int NextRecordOffset => _devices.Count == 0 ? 0 : _devices[^1].EndOffset;

    /// <summary>
    /// Allocates <paramref name="count"/> zeroed pages at <c>guest_limit</c> and raises the limit.
    /// </summary>
    /// <returns>The guest-physical address of the first page.</returns>
    /// <exception cref="LauncherException">The allocation would pass <c>guest_max</c>.</exception>
    /// <remarks>lguest.c <c>get_pages()</c>.</remarks>
    public ulong AllocatePages(int count)
    {
        ulong start = Memory.Limit;
        ulong bytes = (ulong)count * LguestLayout.PageSize;
        if (count < 0 || bytes > GuestMax - start)
        {
            ThrowHelper.ThrowLauncher($"not enough memory for devices ({count} more pages at 0x{start:x}, ceiling 0x{GuestMax:x})");
        }

        Memory.GrowLimit(start + bytes);
        return start;
    }

    /// <summary>Starts a new device record after the previous device's config.</summary>
    /// <exception cref="LauncherException">"too many devices": the 5-byte header does not fit in the page.</exception>
    /// <remarks>lguest.c <c>new_dev_desc()</c> and <c>new_device()</c>.</remarks>
    public DeviceRecord AddDevice(VirtioDeviceType type, string name)
    {
        int offset = NextRecordOffset;
        if (offset + LguestDeviceDesc.Size > LguestLayout.PageSize)
        {
            ThrowHelper.ThrowLauncher("too many devices");
        }

        var record = new DeviceRecord(this, type, name, offset);
        _devices.Add(record);
        return record;
    }

    /// <summary>The device whose descriptor starts exactly at guest physical <paramref name="address"/>.</summary>
    public DeviceRecord? FindByDescriptorAddress(ulong address)
    {
        foreach (DeviceRecord d in _devices)
        {
            if (d.DescriptorAddress == address)
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>A copy of the whole 4096-byte page as the guest sees it now.</summary>
    public byte[] Snapshot() => Memory.GetSpan(Address, LguestLayout.PageSize).ToArray();

    /// <summary>Hands out the next interrupt number (1, 2, 3, … in queue creation order).</summary>
    /// <exception cref="LauncherException">"too many devices": the kernel refuses irqs from <c>LGUEST_IRQS</c> (32) on.</exception>
    /// <remarks>
    /// Decision: lguest.c handed out any number, and the guest's first interrupt on such a
    /// queue made <c>LHREQ_IRQ</c> fail (EINVAL), which ended the guest; a machine that can
    /// never work is refused here, at set-up, before the guest runs.
    /// </remarks>
    internal ushort AllocateIrq()
    {
        if (_nextIrq >= Abi.LguestLayout.Irqs)
        {
            ThrowHelper.ThrowLauncher($"too many devices: a queue would need irq {_nextIrq}, and the kernel takes irqs below {Abi.LguestLayout.Irqs} only");
        }

        return (ushort)_nextIrq++;
    }
}
