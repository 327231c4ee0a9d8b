namespace QuDag.P2p.Muxing.Yamux;

/// <summary>The yamux header flags; SYN opens a stream, ACK accepts it, FIN half-closes it, RST aborts it.</summary>
[Flags]
internal enum YamuxFlags : ushort
{
    None = 0,
    Syn = 1,
    Ack = 2,
    Fin = 4,
    Rst = 8,
}
