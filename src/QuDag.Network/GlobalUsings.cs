// The manager speaks in the libp2p stack's identities: PeerId, NodeIdentity, Multiaddr.
global using QuDag.P2p.Identity;
