namespace QuDag.P2p.Identity;

/// <summary>The key types of libp2p's key protobuf (peer-id spec, "Keys").</summary>
public enum KeyType
{
    Rsa = 0,
    Ed25519 = 1,
    Secp256k1 = 2,
    Ecdsa = 3,
}
