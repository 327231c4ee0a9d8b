using System.Security.Cryptography;
using NSec.Cryptography;
using IncrementalHash = System.Security.Cryptography.IncrementalHash;

namespace QuDag.P2p.Security.Noise;

/// <summary>
/// Noise's SymmetricState (section 5.2) for SHA-256: the chaining key, the handshake hash and the
/// handshake's current cipher. MixKey runs Noise's HKDF, which is RFC 5869 HKDF with salt = ck and empty
/// info, through NSec so the raw Diffie-Hellman output never leaves libsodium.
/// </summary>
internal sealed class NoiseSymmetricState : IDisposable
{
    public const int HashSize = 32;

    private readonly byte[] _ck = new byte[HashSize];
    private readonly byte[] _h = new byte[HashSize];
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private NoiseCipherState? _cipher;

    /// <summary>InitializeSymmetric with a protocol name of at most 32 bytes (it is zero-padded into h), then ck = h.</summary>
    public NoiseSymmetricState(ReadOnlySpan<byte> protocolName)
    {
        if (protocolName.Length > HashSize)
            throw new ArgumentException("Protocol names longer than the hash are hashed; ours is not.", nameof(protocolName));
        protocolName.CopyTo(_h);
        _h.CopyTo(_ck, 0);
    }

    /// <summary>The handshake hash h (channel binding; the test vectors' handshake_hash).</summary>
    public ReadOnlySpan<byte> HandshakeHash => _h;

    public bool HasKey => _cipher is not null;

    public void MixHash(ReadOnlySpan<byte> data)
    {
        _sha.AppendData(_h);
        _sha.AppendData(data);
        _sha.GetHashAndReset(_h);
    }

    /// <summary>ck, k = HKDF(ck, dh, 2); the cipher restarts at nonce 0 with k.</summary>
    public void MixKey(SharedSecret dh)
    {
        Span<byte> output = stackalloc byte[2 * HashSize];
        KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(dh, _ck, ReadOnlySpan<byte>.Empty, output);
        output[..HashSize].CopyTo(_ck);
        _cipher?.Dispose();
        _cipher = new NoiseCipherState(output[HashSize..]);
        CryptographicOperations.ZeroMemory(output);
    }

    /// <summary>Writes the encryption of <paramref name="plaintext"/> (plaintext itself before the first key) and mixes it into h.</summary>
    public int EncryptAndHash(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        int written;
        if (_cipher is null)
        {
            plaintext.CopyTo(destination);
            written = plaintext.Length;
        }
        else
        {
            _cipher.Encrypt(_h, plaintext, destination);
            written = plaintext.Length + NoiseCipherState.TagSize;
        }
        MixHash(destination[..written]);
        return written;
    }

    /// <summary>Reverses <see cref="EncryptAndHash"/>; a failed tag is a protocol error.</summary>
    public int DecryptAndHash(ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        int written;
        if (_cipher is null)
        {
            ciphertext.CopyTo(destination);
            written = ciphertext.Length;
        }
        else
        {
            if (ciphertext.Length < NoiseCipherState.TagSize)
                throw new P2pProtocolException("A Noise handshake message is too short for its authentication tag.");
            if (!_cipher.TryDecrypt(_h, ciphertext, destination))
                throw new P2pProtocolException("A Noise handshake message failed authentication.");
            written = ciphertext.Length - NoiseCipherState.TagSize;
        }
        MixHash(ciphertext);
        return written;
    }

    /// <summary>The overhead EncryptAndHash adds now: the tag once a key is set.</summary>
    public int Overhead => _cipher is null ? 0 : NoiseCipherState.TagSize;

    /// <summary>k1, k2 = HKDF(ck, empty, 2): the initiator's sending and the responder's sending cipher.</summary>
    public (NoiseCipherState First, NoiseCipherState Second) Split()
    {
        // HKDF with zero-length input key material; OpenSSL's one-shot HKDF refuses an empty IKM, so the
        // extract step (HMAC(ck, empty)) is spelled out and the expand step is the platform's.
        Span<byte> prk = stackalloc byte[HashSize];
        Span<byte> output = stackalloc byte[2 * HashSize];
        HMACSHA256.HashData(_ck, ReadOnlySpan<byte>.Empty, prk);
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, ReadOnlySpan<byte>.Empty);
        CryptographicOperations.ZeroMemory(prk);
        var result = (new NoiseCipherState(output[..HashSize]), new NoiseCipherState(output[HashSize..]));
        CryptographicOperations.ZeroMemory(output);
        return result;
    }

    public void Dispose()
    {
        _cipher?.Dispose();
        _sha.Dispose();
        CryptographicOperations.ZeroMemory(_ck);
    }
}
