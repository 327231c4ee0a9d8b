import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
function start (args, tag) {
  const p = spawn(process.argv[2], ['node.mjs', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DEBUG: 'libp2p:*:error,libp2p:yamux*:error,libp2p:connection*' } })
  p.stderr.on('data', d => { for (const l of d.toString().split('\n')) if (/error|abort|reset|close/i.test(l)) console.log(tag, l.slice(0, 400)) })
  const waiters = new Map(); let ready; const readyP = new Promise(r => { ready = r }); let id = 0
  createInterface({ input: p.stdout }).on('line', l => { const m = JSON.parse(l); if (m.event === 'ready') ready(m); else if (m.event) {} else waiters.get(m.id)?.(m) })
  return { p, readyP, cmd: (cmd, a = {}) => new Promise(r => { const i = ++id; waiters.set(i, r); p.stdin.write(JSON.stringify({ id: i, cmd, ...a }) + '\n') }) }
}
const sec = process.argv[3]
const A = start(['--security', 'noise,tls', '--listen', '/ip4/127.0.0.1/tcp/0'], 'A')
const B = start(['--security', sec], 'B')
const a = await A.readyP; await B.readyP
await B.cmd('dial', { addr: a.addrs[0] })
for (let k = 0; k < 4; k++) { const r = await B.cmd('streams', { peer: a.peerId, count: 1000, bytesPerStream: 4096 }); console.log(sec, k, r.succeeded, r.failed, JSON.stringify(r.failures.slice(0, 2))); if (r.failed) break }
await B.cmd('stop'); await A.cmd('stop')
