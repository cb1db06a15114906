namespace LguestSim.Engine.Abi;

/// <summary>Virtio device ids as they appear in <c>lguest_device_desc.type</c>.</summary>
/// <remarks>Spec §3.4.</remarks>
public enum VirtioDeviceType : byte
{
    /// <summary>List terminator.</summary>
    None = 0,

    /// <summary><c>VIRTIO_ID_NET</c>.</summary>
    Net = 1,

    /// <summary><c>VIRTIO_ID_BLOCK</c>.</summary>
    Block = 2,

    /// <summary><c>VIRTIO_ID_CONSOLE</c>.</summary>
    Console = 3,
}

/// <summary>Virtio status bits in <c>lguest_device_desc.status</c>.</summary>
/// <remarks>Spec §3.4.</remarks>
[Flags]
public enum VirtioStatus : byte
{
    /// <summary>Reset / not yet seen.</summary>
    None = 0,

    /// <summary><c>VIRTIO_CONFIG_S_ACKNOWLEDGE</c>.</summary>
    Acknowledge = 1,

    /// <summary><c>VIRTIO_CONFIG_S_DRIVER</c>.</summary>
    Driver = 2,

    /// <summary><c>VIRTIO_CONFIG_S_DRIVER_OK</c>.</summary>
    DriverOk = 4,

    /// <summary><c>VIRTIO_CONFIG_S_FAILED</c>.</summary>
    Failed = 0x80,
}

/// <summary>Request words written to <c>/dev/lguest</c>.</summary>
/// <remarks>Spec §2.2.</remarks>
public enum LguestRequest : uint
{
    /// <summary><c>LHREQ_INITIALIZE</c>: base, pfnlimit, pgdir, start.</summary>
    Initialize = 0,

    /// <summary><c>LHREQ_GETDMA</c>: obsolete, EINVAL.</summary>
    GetDma = 1,

    /// <summary><c>LHREQ_IRQ</c>: irq.</summary>
    Irq = 2,

    /// <summary><c>LHREQ_BREAK</c>: on.</summary>
    Break = 3,
}

/// <summary>Hypercalls of the guest the Launcher can observe.</summary>
/// <remarks>Spec §8.1.</remarks>
public enum LguestHypercall : uint
{
    /// <summary><c>LHCALL_SHUTDOWN</c>: message address, POWEROFF (1) or RESTART (2).</summary>
    Shutdown = 2,

    /// <summary><c>LHCALL_NOTIFY</c>: a guest-physical address.</summary>
    Notify = 17,
}

/// <summary>Fixed numbers of the lguest memory layout.</summary>
/// <remarks>Spec §1.1.</remarks>
public static class LguestLayout
{
    /// <summary>Page size everywhere.</summary>
    public const int PageSize = 4096;

    /// <summary><c>DEVICE_PAGES</c>: pages reserved above RAM for the device page and vrings.</summary>
    public const int DevicePages = 256;

    /// <summary><c>VIRTQUEUE_NUM</c>: descriptors per virtqueue.</summary>
    public const ushort VirtqueueNum = 128;

    /// <summary><c>LGUEST_IRQS</c>: interrupts the kernel accepts are below this.</summary>
    public const int Irqs = 32;
}
