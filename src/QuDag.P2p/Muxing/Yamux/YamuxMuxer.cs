using QuDag.P2p.Resources;

namespace QuDag.P2p.Muxing.Yamux;

/// <summary>The <c>/yamux/1.0.0</c> muxer: hashicorp's yamux as libp2p speaks it.</summary>
public sealed class YamuxMuxer(YamuxOptions? options = null) : IStreamMuxer
{
    public const string Id = "/yamux/1.0.0";

    private readonly YamuxOptions _options = Validated(options ?? YamuxOptions.Default);

    public string ProtocolId => Id;

    public YamuxOptions Options => _options;

    public IMuxedSession CreateSession(Stream secured, bool isInitiator, ConnectionScope? scope = null) => new YamuxSession(secured, isInitiator, _options, scope);

    private static YamuxOptions Validated(YamuxOptions options)
    {
        options.Validate();
        return options;
    }
}
