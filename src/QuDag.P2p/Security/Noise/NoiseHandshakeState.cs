using System.Security.Cryptography;
using NSec.Cryptography;

namespace QuDag.P2p.Security.Noise;

/// <summary>
/// The XX handshake of Noise_XX_25519_ChaChaPoly_SHA256 (Noise spec section 5.3, pattern 7.5):
/// <code>
/// -> e
/// &lt;- e, ee, s, es
/// -> s, se
/// </code>
/// One instance runs one handshake for one role: write and read the three messages in turn, then
/// <see cref="Split"/>. It does no I/O; the libp2p layer frames and carries the messages.
/// </summary>
internal sealed class NoiseHandshakeState : IDisposable
{
    public const int DhLength = 32;
    public static ReadOnlySpan<byte> ProtocolName => "Noise_XX_25519_ChaChaPoly_SHA256"u8;

    private static readonly KeyAgreementAlgorithm X25519 = KeyAgreementAlgorithm.X25519;

    private readonly NoiseSymmetricState _state;
    private readonly Key _static;
    private readonly byte[] _staticPublic;
    private readonly bool _ownsStatic;
    private readonly Key _ephemeral;
    private NSec.Cryptography.PublicKey? _remoteEphemeral;
    private NSec.Cryptography.PublicKey? _remoteStatic;
    private byte[]? _remoteStaticRaw;
    private int _step;
    private bool _failed;

    /// <summary>A handshake with a fresh ephemeral key and an empty prologue, as libp2p runs it.</summary>
    public NoiseHandshakeState(bool initiator, Key staticKey)
        : this(initiator, staticKey, ownsStatic: false, ephemeral: null, prologue: default) { }

    /// <summary>The seam for known-answer vectors: fixed ephemeral key and a prologue.</summary>
    internal NoiseHandshakeState(bool initiator, Key staticKey, bool ownsStatic, Key? ephemeral, ReadOnlySpan<byte> prologue)
    {
        if (staticKey.Algorithm != X25519)
            throw new ArgumentException("The Noise static key must be an X25519 key.", nameof(staticKey));
        IsInitiator = initiator;
        _static = staticKey;
        _ownsStatic = ownsStatic;
        _staticPublic = staticKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        _ephemeral = ephemeral ?? Key.Create(X25519);
        _state = new NoiseSymmetricState(ProtocolName);
        _state.MixHash(prologue);
    }

    public bool IsInitiator { get; }

    /// <summary>True after the third message was written or read.</summary>
    public bool IsComplete => _step == 3;

    /// <summary>The remote's X25519 static key, known after message 2 (initiator) or 3 (responder).</summary>
    public ReadOnlySpan<byte> RemoteStaticKey => _remoteStaticRaw;

    /// <summary>The local X25519 static public key (what the remote sees and the libp2p payload signs).</summary>
    public ReadOnlySpan<byte> LocalStaticKey => _staticPublic;

    public ReadOnlySpan<byte> HandshakeHash => _state.HandshakeHash;

    /// <summary>True when the next message is this side's to write.</summary>
    public bool IsMyTurn => (_step % 2 == 0) == IsInitiator;

    /// <summary>The length of the next message this side writes with a payload of <paramref name="payloadLength"/> bytes.</summary>
    public int GetWriteLength(int payloadLength) => _step switch
    {
        0 => DhLength + payloadLength,
        1 => DhLength + DhLength + NoiseCipherState.TagSize + payloadLength + NoiseCipherState.TagSize,
        2 => DhLength + NoiseCipherState.TagSize + payloadLength + NoiseCipherState.TagSize,
        _ => throw new InvalidOperationException("The handshake is complete."),
    };

    /// <summary>Writes the next handshake message carrying <paramref name="payload"/>; returns its length.</summary>
    public int WriteMessage(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        EnsureUsable(write: true);
        try
        {
            int n = 0;
            switch (_step)
            {
                case 0: // -> e
                    n += WriteEphemeral(destination);
                    break;
                case 1: // <- e, ee, s, es
                    n += WriteEphemeral(destination);
                    MixDh(_ephemeral, _remoteEphemeral!);
                    n += _state.EncryptAndHash(_staticPublic, destination[n..]);
                    MixDh(_static, _remoteEphemeral!);
                    break;
                case 2: // -> s, se
                    n += _state.EncryptAndHash(_staticPublic, destination);
                    MixDh(_static, _remoteEphemeral!);
                    break;
            }
            n += _state.EncryptAndHash(payload, destination[n..]);
            _step++;
            return n;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    /// <summary>Reads the remote's next handshake message and returns its decrypted payload.</summary>
    public byte[] ReadMessage(ReadOnlySpan<byte> message)
    {
        EnsureUsable(write: false);
        try
        {
            int n = 0;
            switch (_step)
            {
                case 0: // -> e
                    n += ReadEphemeral(message);
                    break;
                case 1: // <- e, ee, s, es
                    n += ReadEphemeral(message);
                    MixDh(_ephemeral, _remoteEphemeral!);
                    n += ReadStatic(message[n..]);
                    MixDh(_ephemeral, _remoteStatic!);
                    break;
                case 2: // -> s, se
                    n += ReadStatic(message);
                    MixDh(_ephemeral, _remoteStatic!);
                    break;
            }
            var rest = message[n..];
            var payload = new byte[Math.Max(0, rest.Length - _state.Overhead)];
            _state.DecryptAndHash(rest, payload);
            _step++;
            return payload;
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    /// <summary>The transport ciphers after the handshake: (send, receive) for this side.</summary>
    public (NoiseCipherState Send, NoiseCipherState Receive) Split()
    {
        if (!IsComplete || _failed)
            throw new InvalidOperationException("Split is only possible after a completed handshake.");
        var (initiatorToResponder, responderToInitiator) = _state.Split();
        return IsInitiator ? (initiatorToResponder, responderToInitiator) : (responderToInitiator, initiatorToResponder);
    }

    private void EnsureUsable(bool write)
    {
        if (_failed)
            throw new InvalidOperationException("The handshake has failed.");
        if (_step >= 3)
            throw new InvalidOperationException("The handshake is complete.");
        if (IsMyTurn != write)
            throw new InvalidOperationException(write ? "It is the remote's turn to send." : "It is this side's turn to send.");
    }

    private int WriteEphemeral(Span<byte> destination)
    {
        if (!_ephemeral.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, destination, out int written) || written != DhLength)
            throw new CryptographicException("Exporting the ephemeral public key failed.");
        _state.MixHash(destination[..DhLength]);
        return DhLength;
    }

    private int ReadEphemeral(ReadOnlySpan<byte> message)
    {
        if (message.Length < DhLength)
            throw new P2pProtocolException($"A Noise handshake message of {message.Length} bytes is too short for an ephemeral key.");
        _remoteEphemeral = ImportPublic(message[..DhLength], "ephemeral");
        _state.MixHash(message[..DhLength]);
        return DhLength;
    }

    private int ReadStatic(ReadOnlySpan<byte> message)
    {
        int length = DhLength + _state.Overhead;
        if (message.Length < length)
            throw new P2pProtocolException("A Noise handshake message is too short for a static key.");
        Span<byte> raw = stackalloc byte[DhLength];
        _state.DecryptAndHash(message[..length], raw);
        _remoteStatic = ImportPublic(raw, "static");
        _remoteStaticRaw = raw.ToArray();
        return length;
    }

    private static NSec.Cryptography.PublicKey ImportPublic(ReadOnlySpan<byte> raw, string which)
        => NSec.Cryptography.PublicKey.TryImport(X25519, raw, KeyBlobFormat.RawPublicKey, out var key) && key is not null
            ? key
            : throw new P2pProtocolException($"The remote's Noise {which} key is not a valid X25519 key.");

    private void MixDh(Key local, NSec.Cryptography.PublicKey remote)
    {
        SharedSecret? dh;
        try
        {
            dh = X25519.Agree(local, remote);
        }
        catch (CryptographicException ex)
        {
            throw new P2pProtocolException("The remote's X25519 key gives no shared secret (a low-order point).", ex);
        }
        if (dh is null)
            throw new P2pProtocolException("The remote's X25519 key gives no shared secret (a low-order point).");
        using (dh)
            _state.MixKey(dh);
    }

    public void Dispose()
    {
        _state.Dispose();
        _ephemeral.Dispose();
        if (_ownsStatic)
            _static.Dispose();
    }
}
