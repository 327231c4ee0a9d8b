using System.Buffers;
using System.Security.Cryptography;
using NSec.Cryptography;
using QuDag.P2p.Encoding;

namespace QuDag.P2p.Identity;

/// <summary>
/// This node's Ed25519 key pair: it signs the Noise static key and the TLS certificate extension, and its
/// public key's peer id is the node's <see cref="PeerId"/>. Ephemeral unless loaded from a key file.
/// </summary>
public sealed class NodeIdentity : IDisposable
{
    private readonly Key _key;

    private NodeIdentity(Key key)
    {
        _key = key;
        PublicKey = new Ed25519PublicKey(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        PeerId = PeerId.FromPublicKey(PublicKey);
    }

    /// <summary>The public key, as remotes see it.</summary>
    public PublicKey PublicKey { get; }

    /// <summary>This node's peer id.</summary>
    public PeerId PeerId { get; }

    /// <summary>A new random identity.</summary>
    public static NodeIdentity Create() => new(Key.Create(SignatureAlgorithm.Ed25519, Exportable()));

    /// <summary>The identity whose Ed25519 private key is the 32-byte <paramref name="seed"/> (RFC 8032).</summary>
    public static NodeIdentity FromEd25519Seed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
            throw new ArgumentException($"An Ed25519 seed is 32 bytes, not {seed.Length}.", nameof(seed));
        return new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, Exportable()));
    }

    private static KeyCreationParameters Exportable() => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    /// <summary>
    /// The libp2p PrivateKey protobuf <c>{ Type = Ed25519; Data = seed || public key }</c>, byte for byte what
    /// rust-libp2p's <c>Keypair::to_protobuf_encoding</c> writes (the key-file format of libp2p nodes).
    /// </summary>
    public byte[] ToProtobuf()
    {
        byte[] keypair = new byte[64];
        try
        {
            byte[] seed = ExportSeed();
            seed.CopyTo(keypair, 0);
            CryptographicOperations.ZeroMemory(seed);
            PublicKey.Data.CopyTo(keypair.AsSpan(32));
            var writer = new ArrayBufferWriter<byte>(72);
            ProtoWriter.WriteVarintField(writer, 1, (ulong)KeyType.Ed25519);
            ProtoWriter.WriteBytesField(writer, 2, keypair);
            byte[] protobuf = writer.WrittenSpan.ToArray();
            writer.Clear(); // zeroes the written bytes, so the seed does not linger in the writer's buffer
            return protobuf;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keypair);
        }
    }

    /// <summary>
    /// Reads a libp2p PrivateKey protobuf holding an Ed25519 key: Data is seed || public key (64 bytes), or the
    /// legacy seed || public || public (96 bytes). The public half must be the seed's. Throws
    /// <see cref="P2pProtocolException"/> for anything else, saying what is wrong.
    /// </summary>
    public static NodeIdentity FromProtobuf(ReadOnlySpan<byte> protobuf)
    {
        ulong type = Identity.PublicKey.ReadKeyProtobuf(protobuf, "private", out var data);
        if (type != (ulong)KeyType.Ed25519)
            throw new P2pProtocolException($"The private key is of type {(type <= (ulong)KeyType.Ecdsa ? ((KeyType)type).ToString() : type.ToString())}; a node key must be Ed25519.");
        if (data.Length is not (64 or 96))
            throw new P2pProtocolException($"An Ed25519 private key is 64 bytes (seed and public key), not {data.Length}.");
        if (data.Length == 96 && !data[32..64].SequenceEqual(data[64..]))
            throw new P2pProtocolException("A legacy 96-byte Ed25519 private key holds two different public keys.");
        var identity = FromEd25519Seed(data[..32]);
        if (!identity.PublicKey.Data.SequenceEqual(data[32..64]))
        {
            identity.Dispose();
            throw new P2pProtocolException("The Ed25519 private key's public half does not belong to its seed.");
        }
        return identity;
    }

    /// <summary>The largest key file read: a PrivateKey protobuf of an Ed25519 key is 68 (legacy 100) bytes.</summary>
    private const int MaxKeyFileLength = 4096;

    /// <summary>
    /// Loads a key file written by <see cref="Save"/> or by rust-libp2p (<c>to_protobuf_encoding</c>). Throws
    /// <see cref="InvalidIdentityFileException"/> saying what is wrong and how to fix it when the file is
    /// readable by group or others (unless <paramref name="allowInsecurePermissions"/>), empty, too large,
    /// not a PrivateKey protobuf, not Ed25519, or its public half does not match its seed.
    /// </summary>
    public static NodeIdentity Load(string path, bool allowInsecurePermissions = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (!OperatingSystem.IsWindows() && !allowInsecurePermissions)
            {
                // Checked on the open handle, so the file read is the file checked.
                var mode = File.GetUnixFileMode(file.SafeFileHandle);
                const UnixFileMode exposed = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                    | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
                if ((mode & exposed) != 0)
                    throw new InvalidIdentityFileException(path,
                        $"The node key file '{path}' is accessible by other users (mode {Convert.ToString((int)mode, 8)}). " +
                        $"Restrict it to its owner with: chmod 600 {path}");
            }
            if (file.Length == 0)
                throw new InvalidIdentityFileException(path,
                    $"The node key file '{path}' is empty. Delete it to have a new identity generated, or restore it from a backup.");
            if (file.Length > MaxKeyFileLength)
                throw new InvalidIdentityFileException(path,
                    $"The node key file '{path}' is {file.Length} bytes; a libp2p Ed25519 key file is 68 bytes. Check that the path names the key file.");
            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidIdentityFileException(path, $"The node key file '{path}' cannot be read: {ex.Message}", ex);
        }
        try
        {
            return FromProtobuf(bytes);
        }
        catch (P2pProtocolException ex)
        {
            throw new InvalidIdentityFileException(path,
                $"The node key file '{path}' is not a libp2p Ed25519 private key (protobuf PrivateKey {{ Type = Ed25519; Data = seed || public key }}): {ex.Message} " +
                "Restore the file from a backup, or delete it to have a new identity (and peer id) generated.", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>
    /// Writes the key file (<see cref="ToProtobuf"/>), replacing any file at <paramref name="path"/>. On Unix the
    /// file is created with mode 0600, so it is never readable by others, not even for a moment: the key goes
    /// to a new file in the same folder that is then renamed over the target.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full)!, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        byte[] protobuf = ToProtobuf();
        try
        {
            using (var file = new FileStream(temp, options))
            {
                file.Write(protobuf);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(protobuf);
        }
    }

    /// <summary>Signs <paramref name="data"/> with the node's key (a 64-byte Ed25519 signature).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(_key, data);

    /// <summary>The 32-byte private seed, for writing the key file.</summary>
    internal byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    public void Dispose() => _key.Dispose();
}
