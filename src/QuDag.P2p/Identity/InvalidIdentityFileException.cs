namespace QuDag.P2p.Identity;

/// <summary>A node key file cannot be used: its message says what is wrong and how to fix it.</summary>
public sealed class InvalidIdentityFileException : P2pException
{
    public InvalidIdentityFileException(string path, string message, Exception? inner = null)
        : base(message, inner) => Path = path;

    /// <summary>The key file.</summary>
    public string Path { get; }
}
