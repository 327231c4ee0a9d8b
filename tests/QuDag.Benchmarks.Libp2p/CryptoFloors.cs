using System.Diagnostics;
using System.Security.Cryptography;
using NSec.Cryptography;
using ChaCha20Poly1305 = System.Security.Cryptography.ChaCha20Poly1305;

namespace QuDag.Benchmarks.Libp2p;

/// <summary>
/// The crypto floors, with the libraries the stack uses (NSec/libsodium for X25519 and Ed25519, the platform for
/// SHA-256, HMAC, HKDF and ChaCha20-Poly1305), measured alone, without framing, sockets or our state machines.
/// </summary>
public sealed class CryptoFloors : IDisposable
{
    public const int AeadSize = 64 * 1024;
    private static readonly KeyAgreementAlgorithm X25519 = KeyAgreementAlgorithm.X25519;
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private static readonly byte[] SignedPrefix = "noise-libp2p-static-key:"u8.ToArray();
    private static readonly byte[] ProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256"u8.ToArray();

    private readonly Key _identityI = Key.Create(Ed25519);
    private readonly Key _identityR = Key.Create(Ed25519);
    private readonly Key _staticI = Key.Create(X25519);
    private readonly Key _staticR = Key.Create(X25519);
    private readonly ChaCha20Poly1305 _aead = new(RandomNumberGenerator.GetBytes(32));
    private readonly byte[] _plain = RandomNumberGenerator.GetBytes(AeadSize);
    private readonly byte[] _cipher = new byte[AeadSize];
    private readonly byte[] _opened = new byte[AeadSize];
    private readonly byte[] _tag = new byte[16];
    private readonly byte[] _nonce = new byte[12];
    private ulong _counter;

    /// <summary>
    /// The crypto of one Noise XX handshake, both sides (they run one after the other on the wire, so their sum is the
    /// latency floor): 2 ephemeral keys, 6 X25519 agreements (ee, es, se on each side), 2 Ed25519 signatures of the static
    /// keys and 2 verifications, 6 MixKey HKDFs and 2 Splits, the transcript hashes, and the AEAD of the two encrypted
    /// static keys and payloads, each sealed once and opened once. (Ours signs its static key once per node, not per
    /// handshake: the floor holds more work than our handshake does.) Returns a byte of the result so nothing is elided.
    /// </summary>
    public byte NoiseXxHandshake()
    {
        using var eI = Key.Create(X25519);
        using var eR = Key.Create(X25519);
        Span<byte> h = stackalloc byte[32];
        Span<byte> ck = stackalloc byte[32];
        Span<byte> okm = stackalloc byte[64];
        ProtocolName.CopyTo(h);
        ProtocolName.CopyTo(ck);
        byte acc = 0;
        // The transcript: MixHash of every token and ciphertext, about 8 per side.
        for (int i = 0; i < 16; i++)
            SHA256.HashData(h, h);
        // ee, es (responder's view), es, ee (initiator's), se both: 6 agreements and a MixKey each.
        var pairs = new (Key Local, PublicKey Remote)[]
        {
            (eR, eI.PublicKey), (_staticR, eI.PublicKey), (eI, eR.PublicKey), (eI, _staticR.PublicKey), (_staticI, eR.PublicKey), (eR, _staticI.PublicKey),
        };
        foreach (var (local, remote) in pairs)
        {
            using var shared = X25519.Agree(local, remote) ?? throw new CryptographicException("X25519 failed.");
            KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(shared, ck, ReadOnlySpan<byte>.Empty, okm);
            okm[..32].CopyTo(ck);
        }
        // Each side signs its static key and verifies the other's.
        byte[] sI = _staticI.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        byte[] sR = _staticR.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        byte[] sigI = Ed25519.Sign(_identityI, [.. SignedPrefix, .. sI]);
        byte[] sigR = Ed25519.Sign(_identityR, [.. SignedPrefix, .. sR]);
        if (!Ed25519.Verify(_identityI.PublicKey, [.. SignedPrefix, .. sI], sigI) || !Ed25519.Verify(_identityR.PublicKey, [.. SignedPrefix, .. sR], sigR))
            throw new CryptographicException("Ed25519 verification failed.");
        // Two encrypted static keys (32 B) and two payloads (about 110 B: key protobuf, signature, extensions).
        using (var handshakeAead = new ChaCha20Poly1305(ck))
        {
            Span<byte> c = stackalloc byte[128];
            Span<byte> p = stackalloc byte[128];
            Span<byte> tag = stackalloc byte[16];
            Span<byte> nonce = stackalloc byte[12];
            foreach (int size in new[] { 32, 110, 32, 110 })
            {
                handshakeAead.Encrypt(nonce, _plain.AsSpan(0, size), c[..size], tag, h);
                handshakeAead.Decrypt(nonce, c[..size], tag, p[..size], h);
                acc ^= p[0];
            }
        }
        // Split, on each side: HMAC(ck, empty) then HKDF-Expand to two keys.
        Span<byte> prk = stackalloc byte[32];
        for (int side = 0; side < 2; side++)
        {
            HMACSHA256.HashData(ck, ReadOnlySpan<byte>.Empty, prk);
            HKDF.Expand(HashAlgorithmName.SHA256, prk, okm, ReadOnlySpan<byte>.Empty);
            acc ^= okm[0];
        }
        return (byte)(acc ^ h[0] ^ sigI[0] ^ sigR[0]);
    }

    /// <summary>ChaCha20-Poly1305 seal then open of 64 KiB, as a Noise transport frame (a fresh nonce per frame).</summary>
    public byte SealOpen64K()
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(_nonce.AsSpan(4), _counter++);
        _aead.Encrypt(_nonce, _plain, _cipher, _tag);
        _aead.Decrypt(_nonce, _cipher, _tag, _opened);
        return _opened[0];
    }

    /// <summary>Median microseconds per call of <paramref name="op"/> over <paramref name="rounds"/> timed batches.</summary>
    public static double MedianMicros(Func<byte> op, int perRound, int rounds)
    {
        int sink = 0;
        for (int i = 0; i < perRound; i++)
            sink += op();
        var samples = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < perRound; i++)
                sink += op();
            samples.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds / perRound);
        }
        GC.KeepAlive(sink);
        return Stats.Median(samples);
    }

    public void Dispose()
    {
        _identityI.Dispose();
        _identityR.Dispose();
        _staticI.Dispose();
        _staticR.Dispose();
        _aead.Dispose();
    }
}
