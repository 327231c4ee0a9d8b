namespace QuDag.P2p.Muxing.Yamux;

/// <summary>Why a yamux peer sent GoAway (the frame's length field).</summary>
public enum YamuxGoAwayCode : uint
{
    Normal = 0,
    ProtocolError = 1,
    InternalError = 2,
}
