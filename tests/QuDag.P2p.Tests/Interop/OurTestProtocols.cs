using System.Buffers.Binary;
using System.Security.Cryptography;
using QuDag.P2p.Host;
using QuDag.P2p.Muxing;

namespace QuDag.P2p.Tests.Interop;

/// <summary>
/// Our side of the interop test protocols (tests/interop/README.md): echo until EOF, a sink that answers the
/// SHA-256 of what it read, a source that writes the shared pseudo-random stream, and QuDAG's request
/// protocol answered "ack:" + payload as node.mjs does. Served on a host so js can run its commands on us.
/// </summary>
internal static class OurTestProtocols
{
    public static void Register(P2pHost host)
    {
        host.SetStreamHandler(JsProtocols.Echo, EchoAsync);
        host.SetStreamHandler(JsProtocols.Sink, SinkAsync);
        host.SetStreamHandler(JsProtocols.Source, SourceAsync);
        host.SetStreamHandler(JsProtocols.Request, RequestAsync);
    }

    private static async Task EchoAsync(MuxedStream stream, Upgrade.P2pConnection connection, CancellationToken ct)
    {
        await stream.CopyToAsync(stream, ct);
        await stream.CloseWriteAsync(ct);
    }

    private static async Task SinkAsync(MuxedStream stream, Upgrade.P2pConnection connection, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
            hash.AppendData(buffer, 0, n);
        await stream.WriteAsync(hash.GetHashAndReset(), ct);
        await stream.CloseWriteAsync(ct);
    }

    private static async Task SourceAsync(MuxedStream stream, Upgrade.P2pConnection connection, CancellationToken ct)
    {
        byte[] header = new byte[8];
        await stream.ReadExactlyAsync(header, ct);
        long length = BinaryPrimitives.ReadInt64BigEndian(header);
        await WriteStreamAsync(stream, length, ct);
        await stream.CloseWriteAsync(ct);
    }

    private static async Task RequestAsync(MuxedStream stream, Upgrade.P2pConnection connection, CancellationToken ct)
    {
        using var body = new MemoryStream();
        await stream.CopyToAsync(body, ct);
        var request = QudagReqMessage.Decode(body.ToArray());
        await stream.WriteAsync(request.Ack().Encode(), ct);
        await stream.CloseWriteAsync(ct);
    }

    /// <summary>Writes the first <paramref name="length"/> bytes of the shared stream.</summary>
    public static async Task WriteStreamAsync(Stream stream, long length, CancellationToken ct)
    {
        byte[] chunk = new byte[256 * 1024];
        for (long offset = 0; offset < length; offset += chunk.Length)
        {
            int size = (int)Math.Min(chunk.Length, length - offset);
            InteropData.Generate(offset, chunk.AsSpan(0, size));
            await stream.WriteAsync(chunk.AsMemory(0, size), ct);
        }
    }

    /// <summary>Reads to EOF, checking every byte against the shared stream; returns the count.</summary>
    public static async Task<long> ReadAndCheckStreamAsync(Stream stream, CancellationToken ct)
    {
        byte[] buffer = new byte[256 * 1024];
        byte[] expected = new byte[buffer.Length];
        long offset = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
        {
            InteropData.Generate(offset, expected.AsSpan(0, n));
            int mismatch = buffer.AsSpan(0, n).CommonPrefixLength(expected.AsSpan(0, n));
            if (mismatch != n)
                Assert.Fail($"Byte {offset + mismatch} differs from the shared stream.");
            offset += n;
        }
        return offset;
    }
}
