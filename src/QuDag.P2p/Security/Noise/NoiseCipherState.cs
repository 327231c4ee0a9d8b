using System.Buffers.Binary;
using System.Security.Cryptography;

namespace QuDag.P2p.Security.Noise;

/// <summary>
/// Noise's CipherState for ChaChaPoly (Noise spec rev 34, sections 5.1 and 12.3): a key and a 64-bit counter
/// nonce encoded as 4 zero bytes then the counter little-endian. One instance serves one direction.
/// </summary>
internal sealed class NoiseCipherState : IDisposable
{
    public const int KeySize = 32;
    public const int TagSize = 16;

    // 2^64-1 is reserved (section 5.1): reaching it means the channel must be closed and rebuilt.
    private const ulong ReservedNonce = ulong.MaxValue;

    private readonly ChaCha20Poly1305 _aead;
    private ulong _nonce;

    public NoiseCipherState(ReadOnlySpan<byte> key, ulong nonce = 0)
    {
        if (key.Length != KeySize)
            throw new ArgumentException($"A ChaChaPoly key is {KeySize} bytes, not {key.Length}.", nameof(key));
        _aead = new ChaCha20Poly1305(key);
        _nonce = nonce;
    }

    /// <summary>The next nonce this state will use.</summary>
    public ulong Nonce => _nonce;

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="destination"/> as ciphertext || tag.</summary>
    public void Encrypt(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (_nonce == ReservedNonce)
            throw new P2pException("The Noise send nonce is exhausted; the connection must be closed.");
        Span<byte> nonce = stackalloc byte[12];
        WriteNonce(nonce, _nonce);
        _aead.Encrypt(nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagSize), associatedData);
        _nonce++;
    }

    /// <summary>
    /// Decrypts ciphertext || tag into <paramref name="destination"/> (which may be the ciphertext's own memory);
    /// false when authentication fails, leaving the nonce where it was, as the spec asks.
    /// </summary>
    public bool TryDecrypt(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (ciphertext.Length < TagSize)
            return false;
        if (_nonce == ReservedNonce)
            throw new P2pProtocolException("The Noise receive nonce is exhausted; the remote sent too many messages.");
        Span<byte> nonce = stackalloc byte[12];
        WriteNonce(nonce, _nonce);
        int length = ciphertext.Length - TagSize;
        try
        {
            _aead.Decrypt(nonce, ciphertext[..length], ciphertext[length..], destination[..length], associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
        _nonce++;
        return true;
    }

    private static void WriteNonce(Span<byte> nonce, ulong counter)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    public void Dispose() => _aead.Dispose();
}
