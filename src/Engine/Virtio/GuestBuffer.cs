namespace LguestSim.Engine.Virtio;

/// <summary>
/// One validated buffer of a popped chain: a guest-physical range proven to lie inside
/// guest memory when the chain was popped.
/// </summary>
/// <param name="Address">Guest-physical start.</param>
/// <param name="Length">Length in bytes.</param>
public readonly record struct GuestBuffer(ulong Address, uint Length);
