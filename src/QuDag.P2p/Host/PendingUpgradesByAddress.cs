using System.Net;
using System.Net.Sockets;

namespace QuDag.P2p.Host;

/// <summary>
/// Counts a listener's inbound upgrades in progress per remote address, so one address cannot take every
/// upgrade slot and starve the rest. IPv4 counts per address; IPv6 per /64, the block one host usually
/// holds whole (a per-address cap would let it use 2^64 addresses). Entries go when their count returns
/// to zero, so the table never holds more than the listener's pending upgrades.
/// </summary>
internal sealed class PendingUpgradesByAddress(int limitPerAddress)
{
    private readonly Dictionary<UInt128, int> _pending = [];

    /// <summary>Takes a slot of <paramref name="address"/>'s, or returns false if it has the limit already.</summary>
    public bool TryAcquire(IPAddress address)
    {
        UInt128 key = KeyOf(address);
        lock (_pending)
        {
            _pending.TryGetValue(key, out int count);
            if (count >= limitPerAddress)
                return false;
            _pending[key] = count + 1;
            return true;
        }
    }

    public void Release(IPAddress address)
    {
        UInt128 key = KeyOf(address);
        lock (_pending)
        {
            if (!_pending.TryGetValue(key, out int count))
                return;
            if (count <= 1)
                _pending.Remove(key);
            else
                _pending[key] = count - 1;
        }
    }

    /// <summary>Addresses with an upgrade in progress (for tests).</summary>
    internal int Count
    {
        get { lock (_pending) return _pending.Count; }
    }

    /// <summary>IPv4 (also as IPv4-mapped IPv6) as its 32 bits; IPv6 as its /64 prefix, tagged apart from IPv4.</summary>
    internal static UInt128 KeyOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            // Bit 32 set: never equal to an IPv6 key, whose low word is 0.
            return (1UL << 32) | System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
        }
        address.TryWriteBytes(bytes, out _);
        ulong prefix = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
        return new UInt128(prefix, 0);
    }
}
