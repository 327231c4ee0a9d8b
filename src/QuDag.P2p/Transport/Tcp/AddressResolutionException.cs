namespace QuDag.P2p.Transport.Tcp;

/// <summary>A host name in a dial address did not resolve to any address of the wanted family.</summary>
public sealed class AddressResolutionException : P2pException
{
    public AddressResolutionException(string host, Exception? inner = null)
        : base($"name not resolved: {host}", inner)
        => Host = host;

    /// <summary>The name that did not resolve.</summary>
    public string Host { get; }
}
