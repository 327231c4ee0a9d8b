// The JSON-lines loop the many-node scripts share: one command object per stdin line, one answer line per command
// ({...result, id, ok: true} or {id, ok: false, error}); stdin's end, SIGTERM and SIGINT stop the process.

import { createInterface } from 'node:readline'

export const emit = obj => process.stdout.write(JSON.stringify(obj) + '\n')

export const errorText = err => `${err?.name ?? 'Error'}: ${err?.message ?? err}`

/** Runs `commands[msg.cmd](msg)` for every line; `stop` ends the process (it is called once, whoever asks first). */
export function serveJsonLines (commands, stop) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
  rl.on('line', line => {
    if (line.trim() === '') return
    let msg
    try { msg = JSON.parse(line) } catch (err) { emit({ id: null, ok: false, error: `bad JSON: ${err.message}` }); return }
    const run = commands[msg.cmd]
    if (run == null) { emit({ id: msg.id ?? null, ok: false, error: `unknown command '${msg.cmd}'` }); return }
    Promise.resolve().then(() => run(msg)).then(
      result => emit({ ...result, id: msg.id ?? null, ok: true }),
      err => emit({ id: msg.id ?? null, ok: false, error: errorText(err) }))
  })
  rl.on('close', () => { void stop(0) })
  process.on('SIGTERM', () => { void stop(0) })
  process.on('SIGINT', () => { void stop(0) })
}
