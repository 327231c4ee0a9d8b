using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace QuDag.Network;

internal sealed partial class PeerConnection
{
    // Zero-byte reads: an idle connection pins no buffer while it waits for data.
    private static readonly StreamPipeReaderOptions InputOptions =
        new(bufferSize: 16 * 1024, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true);

    /// <summary>
    /// Dials <paramref name="endPoint"/>: TCP, TLS 1.3 with both certificates, then HELLO each way. The
    /// connection counts as established only when the remote's HELLO arrives: with TLS 1.3 a client whose
    /// certificate the server rejected still finishes its handshake and only sees the close later.
    /// </summary>
    public static async Task<PeerConnection> ConnectAsync(IConnectionOwner owner, NodeIdentity identity, PeerId expected,
        EndPoint endPoint, ConnectionManagerOptions options, CancellationToken cancellationToken)
    {
        var time = options.TimeProvider;
        var start = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(options.HandshakeTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SslStream? ssl = null;
        PipeReader? input = null;
        var stage = "TCP connect";
        try
        {
            await socket.ConnectAsync(endPoint, linked.Token).ConfigureAwait(false);
            stage = "TLS handshake";
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await ssl.AuthenticateAsClientAsync(TlsSettings.Client(identity), linked.Token).ConfigureAwait(false);
            var actual = SubjectPublicKeyInfo.PeerIdOf(ssl.RemoteCertificate!);
            if (actual != expected)
                throw new PeerIdentityMismatchException(expected, actual, endPoint);
            stage = "HELLO exchange";
            await WriteHelloAsync(ssl, linked.Token).ConfigureAwait(false);
            input = PipeReader.Create(ssl, InputOptions);
            var hello = await ReadHelloAsync(input, options.MaxFrameSize, linked.Token).ConfigureAwait(false);
            var connection = new PeerConnection(owner, ssl, input, actual, endPoint, inbound: false, hello,
                time.GetElapsedTime(start), options);
            connection.Start();
            return connection;
        }
        catch (Exception ex)
        {
            if (input is not null)
                await input.CompleteAsync().ConfigureAwait(false);
            if (ssl is not null)
                await ssl.DisposeAsync().ConfigureAwait(false);
            socket.Dispose();
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
                throw;
            throw Describe(ex, stage, expected, endPoint, options.HandshakeTimeout, timeout.IsCancellationRequested);
        }
    }

    /// <summary>Accepts an inbound socket: TLS 1.3 requiring the client's certificate, then HELLO each way.</summary>
    public static async Task<PeerConnection> AcceptAsync(IConnectionOwner owner, NodeIdentity identity, Socket socket,
        ConnectionManagerOptions options, Func<PeerId, bool>? admit, CancellationToken cancellationToken)
    {
        var time = options.TimeProvider;
        var start = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(options.HandshakeTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var endPoint = socket.RemoteEndPoint!;
        socket.NoDelay = true;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        PipeReader? input = null;
        var stage = "TLS handshake";
        try
        {
            await ssl.AuthenticateAsServerAsync(TlsSettings.Server(identity, admit), linked.Token).ConfigureAwait(false);
            var remote = SubjectPublicKeyInfo.PeerIdOf(ssl.RemoteCertificate!);
            stage = "HELLO exchange";
            input = PipeReader.Create(ssl, InputOptions);
            var hello = await ReadHelloAsync(input, options.MaxFrameSize, linked.Token).ConfigureAwait(false);
            await WriteHelloAsync(ssl, linked.Token).ConfigureAwait(false);
            var connection = new PeerConnection(owner, ssl, input, remote, endPoint, inbound: true, hello,
                time.GetElapsedTime(start), options);
            connection.Start();
            return connection;
        }
        catch (Exception ex)
        {
            if (input is not null)
                await input.CompleteAsync().ConfigureAwait(false);
            await ssl.DisposeAsync().ConfigureAwait(false);
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
                throw;
            throw Describe(ex, stage, default, endPoint, options.HandshakeTimeout, timeout.IsCancellationRequested);
        }
    }

    private static async Task WriteHelloAsync(SslStream ssl, CancellationToken cancellationToken)
    {
        var frame = new byte[Frame.HeaderSize + Hello.Size];
        Frame.WriteHeader(frame, FrameType.Hello, Hello.Size);
        Hello.Current.WriteTo(frame.AsSpan(Frame.HeaderSize));
        await ssl.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Hello> ReadHelloAsync(PipeReader input, int maxFrameSize, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (Frame.TryRead(ref buffer, maxFrameSize, out var type, out var payload))
            {
                try
                {
                    if (type != FrameType.Hello)
                        throw new QuDagProtocolException($"Expected HELLO as the first frame, got {type}.");
                    return Hello.Parse(payload);
                }
                finally
                {
                    // Frames sent right behind the HELLO stay unexamined, so the read loop sees them at once.
                    input.AdvanceTo(buffer.Start);
                }
            }
            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
                throw new IOException("The remote closed the connection before its HELLO.");
        }
    }

    private static PeerConnectException Describe(Exception ex, string stage, PeerId peer, EndPoint endPoint, TimeSpan handshakeTimeout, bool timedOut)
    {
        if (ex is PeerConnectException known)
            return known;
        var (kind, what) = ex switch
        {
            _ when timedOut => (ConnectFailureKind.Timeout, $"no answer within the handshake timeout of {handshakeTimeout.TotalSeconds:0.###} s"),
            SocketException se => (ConnectFailureKind.Unreachable, $"{se.SocketErrorCode}: {se.Message}"),
            AuthenticationException => (ConnectFailureKind.Authentication, ex.Message),
            QuDagProtocolException => (ConnectFailureKind.Protocol, ex.Message),
            IOException when stage == "TLS handshake" => (ConnectFailureKind.Authentication, ex.Message),
            _ => (ConnectFailureKind.Closed, ex.Message),
        };
        return new PeerConnectException($"Connecting to {endPoint} failed during {stage}: {what}", peer, endPoint, kind, ex);
    }
}
