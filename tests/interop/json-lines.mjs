// The JSON-lines protocol every script here speaks to the C# harness (tests/QuDag.P2p.Tests/Interop/JsNode.cs): a
// command a line on stdin ({ id, cmd, ...args }), its answer a line on stdout ({ ...result, id, ok: true } or
// { id, ok: false, error }), events as lines of their own ({ event, ... }). stdout carries protocol lines only; logs go
// to stderr. Shared by node.mjs, kad.mjs, gossip.mjs and swarm.mjs (bench.mjs runs its commands one at a time, for timing, and keeps its own).

import { createInterface } from 'node:readline'

/** Writes one protocol line. */
export function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

/** An error as one line of text: its name and message. */
export const errorText = err => `${err?.name ?? 'Error'}: ${err?.message ?? err}`

/** A logger to stderr, each line tagged with the script's name. */
export function logger (name) {
  return text => process.stderr.write(`[${name}] ${text}\n`)
}

/**
 * Answers the commands read from stdin, concurrently, each by `commands[msg.cmd](msg)`; calls `stop()` when the
 * controller goes away (stdin closed, stdout's reader gone) or on SIGTERM/SIGINT, so the process never lingers.
 */
export function serveCommands (commands, stop, log) {
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
        err => emit({ id: msg.id ?? null, ok: false, error: errorText(err) })
      )
  })
  rl.on('close', () => { void stop() })
  process.stdout.on('error', err => {
    log(`stdout: ${err.message}`)
    void stop()
  })
  process.on('SIGTERM', () => { void stop() })
  process.on('SIGINT', () => { void stop() })
}
