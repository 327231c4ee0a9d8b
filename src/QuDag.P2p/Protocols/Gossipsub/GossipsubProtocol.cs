using System.Buffers;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Protocols.Gossipsub;

/// <summary>
/// The pubsub protocol ids and their framing: each RPC is a uvarint length and that many bytes of protobuf, on one
/// long-lived stream per direction (the sender opens its own, as rust and js do).
/// </summary>
public static class GossipsubProtocol
{
    /// <summary>gossipsub v1.1: peer scoring, PRUNE backoff and peer exchange.</summary>
    public const string MeshsubV11 = "/meshsub/1.1.0";

    /// <summary>gossipsub v1.0.</summary>
    public const string MeshsubV10 = "/meshsub/1.0.0";

    /// <summary>floodsub, for peers that speak nothing newer: every message goes to them, no mesh.</summary>
    public const string Floodsub = "/floodsub/1.0.0";

    /// <summary>The ids we speak, in order of preference.</summary>
    public static IReadOnlyList<string> All { get; } = [MeshsubV11, MeshsubV10, Floodsub];

    /// <summary>The default cap on an inbound RPC: 1 MiB (js reads up to 4 MiB; rust's max_transmit_size is 64 KiB).</summary>
    public const int DefaultMaxRpcSize = 1024 * 1024;

    /// <summary>
    /// Reads one length-prefixed RPC; null at a clean end of stream. The length is checked against
    /// <paramref name="maxSize"/> before anything is allocated for it: a longer one throws <see cref="P2pProtocolException"/>,
    /// as does a stream that ends inside a frame or a malformed protobuf.
    /// </summary>
    public static async ValueTask<PubsubRpc?> ReadRpcAsync(Stream stream, int maxSize, RpcLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (await Varint.ReadAsync(stream, cancellationToken).ConfigureAwait(false) is not { } length)
            return null;
        if (length > (ulong)maxSize)
            throw new P2pProtocolException($"A pubsub RPC of {length} bytes exceeds the maximum of {maxSize}.");
        byte[] body = ArrayPool<byte>.Shared.Rent(Math.Max(1, (int)length));
        try
        {
            try
            {
                await stream.ReadExactlyAsync(body.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException ex)
            {
                throw new P2pProtocolException("The pubsub stream ended inside an RPC.", ex);
            }
            return PubsubRpc.Parse(body.AsSpan(0, (int)length), limits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>The RPC as one frame: its length prefix and its protobuf.</summary>
    public static byte[] Frame(PubsubRpc rpc)
    {
        ArgumentNullException.ThrowIfNull(rpc);
        var body = new ArrayBufferWriter<byte>(256);
        rpc.Write(body);
        byte[] frame = new byte[Varint.SizeOf((ulong)body.WrittenCount) + body.WrittenCount];
        int prefix = Varint.Write(frame, (ulong)body.WrittenCount);
        body.WrittenSpan.CopyTo(frame.AsSpan(prefix));
        return frame;
    }

    /// <summary>Parses the content of a pubsub stream: frames back to back, each checked as <see cref="ReadRpcAsync"/> does.</summary>
    internal static List<PubsubRpc> ParseFrames(ReadOnlySpan<byte> content, int maxSize, RpcLimits limits)
    {
        var rpcs = new List<PubsubRpc>();
        while (!content.IsEmpty)
        {
            ulong length = Varint.Read(content, out int prefix);
            if (length > (ulong)maxSize)
                throw new P2pProtocolException($"A pubsub RPC of {length} bytes exceeds the maximum of {maxSize}.");
            if (length > (ulong)(content.Length - prefix))
                throw new P2pProtocolException("The pubsub stream ended inside an RPC.");
            rpcs.Add(PubsubRpc.Parse(content.Slice(prefix, (int)length), limits));
            content = content[(prefix + (int)length)..];
        }
        return rpcs;
    }
}
