namespace QuDag.P2p.Muxing.Yamux;

/// <summary>The yamux frame types (spec: "Type" field).</summary>
internal enum YamuxFrameType : byte
{
    Data = 0,
    WindowUpdate = 1,
    Ping = 2,
    GoAway = 3,
}
