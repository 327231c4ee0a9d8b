using QuDag.P2p.Identity;
using QuDag.P2p.Security;
using QuDag.P2p.Security.Noise;
using QuDag.P2p.Security.Tls;

namespace QuDag.P2p.Tests.Security;

public sealed class NoiseConformanceTests : SecurityTransportConformance
{
    protected override string ExpectedProtocolId => "/noise";

    protected override ISecurityTransport CreateTransport(NodeIdentity identity, TimeSpan handshakeTimeout, TimeProvider clock)
        => new NoiseSecurity(identity, new NoiseSecurityOptions { HandshakeTimeout = handshakeTimeout, TimeProvider = clock });
}

public sealed class TlsConformanceTests : SecurityTransportConformance
{
    protected override string ExpectedProtocolId => "/tls/1.0.0";

    protected override ISecurityTransport CreateTransport(NodeIdentity identity, TimeSpan handshakeTimeout, TimeProvider clock)
        => new TlsSecurity(identity, new TlsSecurityOptions { HandshakeTimeout = handshakeTimeout, TimeProvider = clock });
}
