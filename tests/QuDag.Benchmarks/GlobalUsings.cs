global using QuDag.P2p.Identity;
