// End to end test of Cairn's Loki API with real Loki clients from npm.
//
//   CAIRN_URL=http://127.0.0.1:3100 node test.mjs
//
// 1. Opens a `/loki/api/v1/tail` websocket per tenant before anything is pushed.
// 2. winston-loki pushes with protobuf + snappy (tenant `e2e-winston`); every
//    request it makes is captured through its `httpAgent` option, and the test
//    checks the wire format itself: `Content-Type: application/x-protobuf`, a
//    raw snappy block holding a `logproto.PushRequest` (winston-loki silently
//    falls back to JSON when its optional `snappy` dependency cannot load, so
//    this is asserted, not assumed).
// 3. pino-loki pushes JSON (tenant `e2e-pino`); its requests go through
//    `fetch`, which is wrapped to capture them.
// 4. Polls `query_range` (forward, then backward, then with a small limit)
//    until every line that was sent comes back, and compares stream labels,
//    timestamps, lines and their order with what the clients put on the wire.
// 5. Checks that each tail websocket received exactly its tenant's streams, in
//    Loki's tail message shape; then that a tail opened after the push gets
//    the lines since its `start`.
//
// Exits non-zero on any failure, printing what was expected and what came back.

import http from 'node:http'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import winston from 'winston'
import LokiTransport from 'winston-loki'
import pino from 'pino'
import pinoLoki from 'pino-loki'
import WebSocket from 'ws'

const require = createRequire(import.meta.url)
const snappy = require('snappy')
const { logproto } = require('winston-loki/src/proto')

const BASE = process.env.CAIRN_URL
if (!BASE) {
  console.error('CAIRN_URL is not set (e.g. CAIRN_URL=http://127.0.0.1:3100)')
  process.exit(2)
}
const QUERY_TIMEOUT_MS = Number(process.env.E2E_QUERY_TIMEOUT_MS || 30000)
const TAIL_TIMEOUT_MS = 10000

// Unique per run, so a reused data directory cannot satisfy the test.
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
const TENANT_WINSTON = 'e2e-winston'
const TENANT_PINO = 'e2e-pino'
const SELECTOR = `{run="${RUN}"}`
const realFetch = globalThis.fetch
const t0 = Date.now()

// ---------------------------------------------------------------- checks

let passed = 0
let failed = 0
const show = v => (typeof v === 'string' ? v : JSON.stringify(v, null, 2))

function check (ok, what, expected, got) {
  if (ok) {
    passed++
    console.log(`ok    ${what}`)
  } else {
    failed++
    console.log(`FAIL  ${what}`)
    if (expected !== undefined) console.log(`  expected: ${show(expected).replaceAll('\n', '\n  ')}`)
    if (got !== undefined) console.log(`  got:      ${show(got).replaceAll('\n', '\n  ')}`)
  }
  return ok
}

const equal = (a, b) => JSON.stringify(a) === JSON.stringify(b)
const checkEqual = (what, expected, got) => check(equal(expected, got), what, expected, got)

function log (msg) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(2)}s] ${msg}`)
}

/** Canonical key of a label set: sorted JSON. */
function labelKey (labels) {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))
}

/** `{a="b",c="d"}` (as winston-loki writes it: no escapes needed here) to an object. */
function parseLabelString (s) {
  const out = {}
  const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g
  let m
  while ((m = re.exec(s)) !== null) out[m[1]] = JSON.parse(`"${m[2]}"`)
  return out
}

// ---------------------------------------------------------------- tail

function openTail (tenant) {
  const params = new URLSearchParams({
    query: SELECTOR,
    // Loki's tail parameters: query, delay_for (s), limit, start (ns).
    delay_for: '0',
    limit: '1000',
    start: String(BigInt(Date.now() - 60_000) * 1_000_000n)
  })
  const url = `${BASE.replace(/^http/, 'ws')}/loki/api/v1/tail?${params}`
  const tail = { tenant, url, messages: [], badShape: [], error: null, open: false }
  return new Promise(resolve => {
    const ws = new WebSocket(url, { headers: { 'X-Scope-OrgID': tenant } })
    tail.ws = ws
    const timer = setTimeout(() => {
      tail.error = 'the websocket did not open within 10 s'
      ws.terminate()
      resolve(tail)
    }, 10000)
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', d => (body += d))
      res.on('end', () => {
        clearTimeout(timer)
        tail.error = `the upgrade was answered HTTP ${res.statusCode}: ${body.trim()}`
        resolve(tail)
      })
    })
    ws.on('open', () => {
      clearTimeout(timer)
      tail.open = true
      resolve(tail)
    })
    ws.on('error', e => {
      clearTimeout(timer)
      if (!tail.error) tail.error = `websocket error: ${e.message}`
      resolve(tail)
    })
    ws.on('close', (code, reason) => {
      tail.closed = { code, reason: reason.toString() }
    })
    ws.on('message', (data, isBinary) => {
      let msg
      try {
        msg = JSON.parse(data.toString())
      } catch (e) {
        tail.badShape.push({ why: `not JSON (binary=${isBinary})`, data: data.toString().slice(0, 500) })
        return
      }
      const why = tailShapeProblem(msg)
      if (why) tail.badShape.push({ why, msg })
      tail.messages.push(msg)
    })
  })
}

/** Loki's tail message: {"streams":[{"stream":{..},"values":[["<ns>","<line>"]]}], "dropped_entries"?: [...]}. */
function tailShapeProblem (msg) {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'message is not an object'
  for (const k of Object.keys(msg)) {
    if (k !== 'streams' && k !== 'dropped_entries') return `unexpected key ${k}`
  }
  if (!Array.isArray(msg.streams)) return 'streams is not an array'
  if (msg.dropped_entries !== undefined && msg.dropped_entries !== null && !Array.isArray(msg.dropped_entries)) {
    return 'dropped_entries is not an array'
  }
  for (const s of msg.streams) {
    if (typeof s.stream !== 'object' || s.stream === null) return 'a stream has no label object'
    if (Object.values(s.stream).some(v => typeof v !== 'string')) return 'a label value is not a string'
    if (!Array.isArray(s.values)) return 'a stream has no values array'
    for (const v of s.values) {
      if (!Array.isArray(v) || v.length !== 2) return 'a value is not a [ts, line] pair'
      if (typeof v[0] !== 'string' || !/^\d{19}$/.test(v[0])) return `timestamp ${JSON.stringify(v[0])} is not a ns string`
      if (typeof v[1] !== 'string') return 'a line is not a string'
    }
  }
  return null
}

/** Per stream key: {labels, values} of everything a tail received, in arrival order. */
function tailReceived (tail) {
  const by = new Map()
  for (const msg of tail.messages) {
    for (const s of msg.streams || []) {
      const k = labelKey(s.stream || {})
      if (!by.has(k)) by.set(k, { labels: s.stream, values: [] })
      for (const v of s.values || []) by.get(k).values.push(v)
    }
  }
  return by
}

// ---------------------------------------------------------------- winston-loki

/** An http.Agent that records every request winston-loki makes: headers, body, status. */
class CaptureAgent extends http.Agent {
  constructor () {
    super({ keepAlive: false })
    this.captured = []
  }

  addRequest (req, options) {
    const rec = {
      path: req.path,
      method: req.method,
      contentType: req.getHeader('content-type'),
      contentEncoding: req.getHeader('content-encoding'),
      tenant: req.getHeader('x-scope-orgid'),
      chunks: [],
      status: null,
      error: null
    }
    this.captured.push(rec)
    const write = req.write.bind(req)
    const end = req.end.bind(req)
    req.write = (chunk, ...rest) => {
      if (chunk && typeof chunk !== 'function') rec.chunks.push(Buffer.from(chunk))
      return write(chunk, ...rest)
    }
    req.end = (chunk, ...rest) => {
      if (chunk && typeof chunk !== 'function') rec.chunks.push(Buffer.from(chunk))
      return end(chunk, ...rest)
    }
    req.on('response', res => {
      rec.status = res.statusCode
    })
    req.on('error', e => {
      rec.error = e.message
    })
    return super.addRequest(req, options)
  }
}

async function runWinston () {
  const agent = new CaptureAgent()
  const connectionErrors = []
  const transport = new LokiTransport({
    host: BASE,
    // The protobuf default, spelled out: winston-loki sends protobuf unless json is true.
    json: false,
    labels: { app: 'e2e-winston', run: RUN },
    headers: { 'X-Scope-OrgID': TENANT_WINSTON },
    batching: true,
    interval: 1,
    timeout: 10000,
    gracefulShutdown: false,
    httpAgent: agent,
    // The line is the message exactly (the default appends a space and the JSON of the meta).
    format: winston.format.printf(info => info.message),
    onConnectionError: e => connectionErrors.push(e.message)
  })
  const logger = winston.createLogger({ level: 'debug', transports: [transport] })
  const sent = [
    ['info', `winston started run=${RUN}`],
    ['warn', `winston disk at 91% run=${RUN}`],
    ['info', `winston unicode ünïcödé ✓ 日本語 run=${RUN}`],
    ['error', `winston failed: "quoted" \\ backslash\ttab run=${RUN}`],
    ['info', `winston done run=${RUN}`],
    ['warn', `winston second warning run=${RUN}`]
  ]
  for (const [level, msg] of sent) {
    logger.log(level, msg)
    await sleep(3) // distinct millisecond timestamps (winston-loki stamps with Date.now())
  }
  // Stops the batch loop and sends the last batch.
  await transport.close()
  logger.close()

  log(`winston-loki made ${agent.captured.length} request(s)`)
  check(transport.batcher.contentType === 'application/x-protobuf' && !transport.batcher.options.json,
    'winston-loki is in protobuf mode (its snappy dependency loaded)',
    { contentType: 'application/x-protobuf', json: false },
    { contentType: transport.batcher.contentType, json: transport.batcher.options.json })
  checkEqual('winston-loki reported no connection errors', [], connectionErrors)

  const pushes = agent.captured.filter(r => r.chunks.length > 0)
  check(pushes.length > 0, 'winston-loki sent at least one push with a body', '>= 1', pushes.length)
  const streams = new Map()
  for (const [i, r] of pushes.entries()) {
    const tag = `winston-loki push #${i + 1}`
    checkEqual(`${tag}: POST /loki/api/v1/push`, 'POST /loki/api/v1/push', `${r.method} ${r.path}`)
    checkEqual(`${tag}: Content-Type`, 'application/x-protobuf', r.contentType)
    checkEqual(`${tag}: no Content-Encoding header (snappy is implied by Loki's protocol)`, undefined, r.contentEncoding)
    checkEqual(`${tag}: X-Scope-OrgID`, TENANT_WINSTON, r.tenant)
    checkEqual(`${tag}: answered 204`, 204, r.status ?? r.error)
    const body = Buffer.concat(r.chunks)
    let req
    try {
      const raw = snappy.uncompressSync(body)
      req = logproto.PushRequest.decode(raw)
    } catch (e) {
      check(false, `${tag}: body is a raw snappy block holding a logproto.PushRequest`, 'snappy(protobuf)',
        `${e.message}; first bytes: ${body.subarray(0, 32).toString('hex')}`)
      continue
    }
    check(body[0] !== 0x7b, `${tag}: body is a raw snappy block holding a logproto.PushRequest (${body.length} bytes, ${req.streams.length} stream(s))`)
    for (const s of req.streams) {
      const labels = parseLabelString(s.labels)
      const k = labelKey(labels)
      if (!streams.has(k)) streams.set(k, { labels, values: [] })
      for (const e of s.entries) {
        const ns = BigInt(e.timestamp.seconds.toString()) * 1_000_000_000n + BigInt(e.timestamp.nanos || 0)
        streams.get(k).values.push([ns.toString(), e.line])
      }
    }
  }
  const lines = [...streams.values()].flatMap(s => s.values.map(v => v[1]))
  checkEqual('winston-loki put every logged line on the wire, unchanged',
    sent.map(s => s[1]).sort(), [...lines].sort())
  return streams
}

// ---------------------------------------------------------------- pino-loki

async function runPino () {
  const captured = []
  globalThis.fetch = async (url, init = {}) => {
    const rec = { url: String(url), method: init.method, headers: init.headers || {}, body: init.body, status: null, error: null }
    captured.push(rec)
    try {
      const res = await realFetch(url, init)
      rec.status = res.status
      return res
    } catch (e) {
      rec.error = e.message
      throw e
    }
  }
  try {
    const stream = pinoLoki({
      host: BASE,
      headers: { 'X-Scope-OrgID': TENANT_PINO },
      labels: { app: 'e2e-pino', run: RUN },
      batching: { interval: 1 },
      timeout: 10000
    })
    const closed = new Promise(resolve => stream.on('close', resolve))
    const logger = pino({ level: 'debug' }, stream)
    const sent = [
      ['info', `pino started run=${RUN}`],
      ['error', `pino boom: "quoted" \\ backslash run=${RUN}`],
      ['info', `pino unicode ünïcödé ✓ 日本語 run=${RUN}`],
      ['warn', `pino slow request run=${RUN}`],
      ['info', `pino done run=${RUN}`]
    ]
    for (const [level, msg] of sent) {
      logger[level]({ seq: sent.findIndex(s => s[1] === msg) }, msg)
      await sleep(3) // distinct millisecond timestamps (pino's `time`)
    }
    // Ending the stream makes pino-loki's close() send what is buffered.
    stream.end()
    await closed

    log(`pino-loki made ${captured.length} request(s)`)
    check(captured.length > 0, 'pino-loki sent at least one push', '>= 1', captured.length)
    const streams = new Map()
    for (const [i, r] of captured.entries()) {
      const tag = `pino-loki push #${i + 1}`
      checkEqual(`${tag}: POST /loki/api/v1/push`, `POST ${BASE.replace(/\/$/, '')}/loki/api/v1/push`, `${r.method} ${r.url}`)
      checkEqual(`${tag}: Content-Type`, 'application/json', r.headers['Content-Type'])
      checkEqual(`${tag}: X-Scope-OrgID`, TENANT_PINO, r.headers['X-Scope-OrgID'])
      checkEqual(`${tag}: answered 204`, 204, r.status ?? r.error)
      let body
      try {
        body = JSON.parse(r.body)
      } catch (e) {
        check(false, `${tag}: body is JSON`, 'JSON', String(r.body).slice(0, 200))
        continue
      }
      for (const s of body.streams) {
        const k = labelKey(s.stream)
        if (!streams.has(k)) streams.set(k, { labels: s.stream, values: [] })
        for (const v of s.values) streams.get(k).values.push([v[0], v[1]])
      }
    }
    const msgs = [...streams.values()].flatMap(s => s.values.map(v => JSON.parse(v[1]).msg))
    checkEqual('pino-loki put every logged message on the wire', sent.map(s => s[1]).sort(), [...msgs].sort())
    return streams
  } finally {
    globalThis.fetch = realFetch
  }
}

// ---------------------------------------------------------------- query_range

async function queryRange (tenant, params) {
  const url = `${BASE}/loki/api/v1/query_range?${new URLSearchParams(params)}`
  const res = await realFetch(url, { headers: { 'X-Scope-OrgID': tenant } })
  const text = await res.text()
  let json = null
  try {
    json = JSON.parse(text)
  } catch {}
  return { url, status: res.status, text, json }
}

/** The result of a streams query as Map(labelKey -> {labels, values}), plus shape problems. */
function streamsOf (r) {
  const problems = []
  const by = new Map()
  const d = r.json?.data
  if (r.status !== 200) problems.push(`HTTP ${r.status}`)
  if (r.json?.status !== 'success') problems.push(`status ${JSON.stringify(r.json?.status)}`)
  if (d?.resultType !== 'streams') problems.push(`resultType ${JSON.stringify(d?.resultType)}`)
  if (!Array.isArray(d?.result)) {
    problems.push('data.result is not an array')
    return { by, problems, count: 0 }
  }
  let count = 0
  for (const s of d.result) {
    const k = labelKey(s.stream || {})
    if (by.has(k)) problems.push(`stream ${k} appears twice in the result`)
    else by.set(k, { labels: s.stream, values: [] })
    for (const v of s.values || []) {
      if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string') {
        problems.push(`value ${JSON.stringify(v)} is not a ["<ns>", "<line>"] pair`)
      }
      by.get(k).values.push(v)
      count++
    }
  }
  return { by, problems, count }
}

// Streams keyed by their sorted labels, in key order: the order of streams in
// an answer is not part of Loki's contract, the order of values within one is.
const asObject = m => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.values]))

async function verifyQueries (tenant, expected, who) {
  const all = [...expected.values()].flatMap(s => s.values)
  const minTs = all.reduce((a, v) => (BigInt(v[0]) < a ? BigInt(v[0]) : a), BigInt(Date.now()) * 1_000_000n)
  const start = (minTs - 60_000_000_000n).toString()
  const end = () => ((BigInt(Date.now()) + 60_000n) * 1_000_000n).toString()
  const want = new Map([...expected.entries()].map(([k, s]) => [k, {
    labels: s.labels,
    values: [...s.values].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1))
  }]))

  // Poll until everything that was sent is visible (or the timeout passes).
  const deadline = Date.now() + QUERY_TIMEOUT_MS
  let r, got
  for (;;) {
    r = await queryRange(tenant, { query: SELECTOR, start, end: end(), limit: '1000', direction: 'forward' })
    got = streamsOf(r)
    if (got.problems.length === 0 && got.count >= all.length) break
    // A 4xx other than 429 will not change by waiting (404: no such endpoint).
    if (r.status >= 400 && r.status < 500 && r.status !== 429) break
    if (Date.now() > deadline) break
    await sleep(250)
  }
  log(`${who}: query_range forward returned HTTP ${r.status}, ${got.count} of ${all.length} lines`)
  if (!check(got.problems.length === 0 && got.count >= all.length,
    `${who}: query_range returned every line (polled up to ${QUERY_TIMEOUT_MS / 1000} s; ${r.url}, X-Scope-OrgID: ${tenant})`,
    `${all.length} lines in a success/streams answer`,
    { problems: got.problems, lines: got.count, body: r.text.slice(0, 2000) })) {
    return
  }
  checkEqual(`${who}: query_range forward: the stream label sets are exactly the ones pushed`,
    [...want.keys()].sort(), [...got.by.keys()].sort())
  checkEqual(`${who}: query_range forward: every stream's [ts, line] values, oldest first`,
    asObject(want), asObject(got.by))

  // backward: newest first.
  r = await queryRange(tenant, { query: SELECTOR, start, end: end(), limit: '1000', direction: 'backward' })
  got = streamsOf(r)
  checkEqual(`${who}: query_range backward: answer shape`, [], got.problems)
  const wantBack = new Map([...want.entries()].map(([k, s]) => [k, { values: [...s.values].reverse() }]))
  checkEqual(`${who}: query_range backward: every stream's values, newest first`, asObject(wantBack), asObject(got.by))

  // limit=2 backward: the two newest lines over all streams.
  r = await queryRange(tenant, { query: SELECTOR, start, end: end(), limit: '2', direction: 'backward' })
  got = streamsOf(r)
  checkEqual(`${who}: query_range limit=2: answer shape`, [], got.problems)
  const newest = [...want.values()].flatMap(s => s.values).sort((a, b) => (BigInt(a[0]) > BigInt(b[0]) ? -1 : 1)).slice(0, 2)
  const gotLimited = [...got.by.values()].flatMap(s => s.values).sort((a, b) => (BigInt(a[0]) > BigInt(b[0]) ? -1 : 1))
  checkEqual(`${who}: query_range limit=2 backward: the two newest lines`, newest, gotLimited)

  // A single stream by its labels, and a line filter.
  const [oneKey, one] = [...want.entries()][0]
  const sel = '{' + Object.entries(one.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',') + '}'
  r = await queryRange(tenant, { query: sel, start, end: end(), limit: '1000', direction: 'forward' })
  got = streamsOf(r)
  checkEqual(`${who}: query_range ${sel}: that stream only`, { [oneKey]: one.values }, asObject(got.by))
  const needle = 'unicode ünïcödé ✓'
  r = await queryRange(tenant, { query: `${SELECTOR} |= ${JSON.stringify(needle)}`, start, end: end(), limit: '1000', direction: 'forward' })
  got = streamsOf(r)
  const wantFiltered = [...want.values()].flatMap(s => s.values).filter(v => v[1].includes(needle))
  checkEqual(`${who}: query_range ${SELECTOR} |= "${needle}": the matching line`,
    wantFiltered, [...got.by.values()].flatMap(s => s.values))
}

async function verifyTail (tail, expected, who) {
  if (!check(tail.open, `${who}: tail websocket opened (${tail.url}, X-Scope-OrgID: ${tail.tenant})`, 'open', tail.error)) return
  const want = new Map([...expected.entries()].map(([k, s]) => [k, {
    labels: s.labels,
    values: [...s.values].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1))
  }]))
  const total = [...want.values()].reduce((n, s) => n + s.values.length, 0)
  const deadline = Date.now() + TAIL_TIMEOUT_MS
  let got
  for (;;) {
    got = tailReceived(tail)
    const n = [...got.values()].reduce((a, s) => a + s.values.length, 0)
    if (n >= total || Date.now() > deadline) break
    await sleep(100)
  }
  log(`${who}: tail received ${tail.messages.length} message(s)`)
  checkEqual(`${who}: tail messages have Loki's shape {"streams":[{"stream":{..},"values":[["<ns>","<line>"]]}]}`, [], tail.badShape)
  checkEqual(`${who}: tail delivered exactly the pushed streams`, [...want.keys()].sort(), [...got.keys()].sort())
  checkEqual(`${who}: tail delivered every line of each stream once, in order`, asObject(want), asObject(got))
  check(tail.closed === undefined, `${who}: tail websocket still open at the end`, 'open', tail.closed)
}

// ---------------------------------------------------------------- main

async function main () {
  log(`Cairn at ${BASE}, run label ${RUN}`)
  const ready = await realFetch(`${BASE}/ready`).then(r => r.status, e => e.message)
  checkEqual('Cairn answers /ready with 200', 200, ready)

  const tailWinston = await openTail(TENANT_WINSTON)
  const tailPino = await openTail(TENANT_PINO)
  log(`tail websockets: ${TENANT_WINSTON} ${tailWinston.open ? 'open' : tailWinston.error}; ${TENANT_PINO} ${tailPino.open ? 'open' : tailPino.error}`)

  const winstonStreams = await runWinston()
  const pinoStreams = await runPino()

  await verifyQueries(TENANT_WINSTON, winstonStreams, 'winston-loki (protobuf+snappy)')
  await verifyQueries(TENANT_PINO, pinoStreams, 'pino-loki (JSON)')
  await verifyTail(tailWinston, winstonStreams, 'winston-loki (protobuf+snappy)')
  await verifyTail(tailPino, pinoStreams, 'pino-loki (JSON)')
  // A tail opened after the push gets the lines since its `start` first.
  const tailLate = await openTail(TENANT_PINO)
  await verifyTail(tailLate, pinoStreams, 'pino-loki (JSON), tail opened after the push')

  for (const t of [tailWinston, tailPino, tailLate]) t.ws?.terminate()
}

try {
  await main()
} catch (e) {
  failed++
  console.log(`FAIL  the test crashed: ${e.stack || e}`)
}
console.log(`e2e: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
