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
