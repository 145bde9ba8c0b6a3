// bench/collector-scale: the collector at cluster scale, on SQLite and on
// PostgreSQL side by side (issue 11). For each store:
//   1. preload: N reports (default 1,000,000) over 5,000 nodes and 500
//      namespaces, received over the last 7 days, written through the store
//      itself (as the collector writes them: batches, aggregates in the same
//      transaction), then its upkeep run once (hours and days rolled up), as
//      a collector running all week would have it;
//   2. the collector from the bundle, with the image's Node flags, on that
//      store; queries one at a time while nothing else runs: GET /v1/summary
//      for 1 h, 24 h and 7 days, and list pages filtered by node, namespace,
//      outcome and slower-than, spaced so that neither the read gate's pause
//      after the previous read nor a shared summary is in a query's time;
//   3. ingest while queries run: autocannon (collector-load.ts, 32
//      connections, distinct reports of the same 5,000-node cluster) for
//      LOAD_S seconds, the same queries beside it, one every 250 ms;
//   4. the collector's RSS (VmRSS at the end, VmHWM the peak, and the peak
//      after the queries alone, before ingest), and the CPU each part took per
//      report answered during ingest (the collector's and PostgreSQL's from
//      /proc, the generator's over its whole run): on the shared cores, what
//      5,000 reports/s needs each of them to cost.
// SQLite is the file store in a temp dir (WAL, synchronous=FULL); PostgreSQL
// is a server of its own started for the bench (test/helpers/postgres.ts)
// with fsync on and its default settings, on the same disk and cores. Every
// process shares the machine's cores: the generator, the query loop, the
// collector and PostgreSQL. Run under the bench lock:
//
//   flock /work/team/bench.lock node bench/collector-scale.ts [--reports N] [--store sqlite|postgres|both]
//
// A/B and reuse (the PostgreSQL preload takes minutes): --bundle LABEL=PATH
// (repeatable) runs steps 2-4 with each given bundle in turn, --rounds R
// times, on the same preloaded store, instead of the bundle of this checkout.
// --node-flags LABEL='FLAGS' gives the collector of bundle LABEL these Node
// flags instead of the image's ENTRYPOINT's, --node-env LABEL='K=V ...' these
// environment variables (one bundle may be given twice under two labels).
// --pg-dir DIR keeps PostgreSQL's data in DIR: the preload is made once into
// database preload_N and each collector (each bundle, each round) works on a
// fresh copy of it (CREATE DATABASE ... TEMPLATE, ~15 s, untimed); --prepare
// only makes the preload (or tops a kept one up to a few minutes ago at the
// preload's rate and runs its upkeep, as for SQLite below) and the first copy
// (untimed: run it under the shared lock), so the timed run finds them ready.
// A reused preload is as old as it is: the bench prints how long before the
// first collector started its newest report was received.
// --sqlite-dir DIR does the same for SQLite: the preload is made once into
// DIR/preload_N.db, --prepare tops it up to a few minutes ago at the
// preload's rate (so its windows hold what a fresh one's would) and runs its
// upkeep, and each run (each bundle, each round) works on a fresh copy of it,
// opened once by that bundle's collector before the timed one starts
// (untimed: a bundle whose schema differs from the preload's migrates it then).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pgClient from 'pg';
import { sweepOnce } from '../src/collector/retention.ts';
import { SUMMARY_TTL_MS } from '../src/collector/summary-cache.ts';
import { openStore, type ReportStore } from '../src/collector/store.ts';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.ts';
import { benchNodeEnv, imageNodeFlags } from '../test/helpers/image.ts';
import { clusterOf, makeBenchReport, prng } from './collector-reports.ts';

const { values } = parseArgs({
  options: {
    reports: { type: 'string', default: '1000000' },
    store: { type: 'string', default: 'both' },
    'load-seconds': { type: 'string', default: '10' },
    bundle: { type: 'string', multiple: true },
    'node-flags': { type: 'string', multiple: true },
    'node-env': { type: 'string', multiple: true },
    rounds: { type: 'string', default: '1' },
    'pg-dir': { type: 'string' },
    'sqlite-dir': { type: 'string' },
    prepare: { type: 'boolean', default: false },
  },
});
const REPORTS = Number(values.reports);
const STORES =
  values.store === 'both' ? (['sqlite', 'postgres'] as const) : ([values.store] as ('sqlite' | 'postgres')[]);
const LOAD_S = Number(values['load-seconds']);
const ROUNDS = Number(values.rounds);
const PG_DIR = values['pg-dir'];
const SQLITE_DIR = values['sqlite-dir'];
if (values.prepare && PG_DIR === undefined && SQLITE_DIR === undefined)
  throw new Error('--prepare needs --pg-dir or --sqlite-dir');
const NODES = 5000;
const NAMESPACES = 500;
const DAY_MS = 86_400_000;
/** The preload's reports are received over this span, ending a few minutes before the collector starts. */
const SPAN_MS = 7 * DAY_MS - 10 * 60_000;
const PRELOAD_BATCH = 1000;
const CONNECTIONS = 32;
/** Sequential runs of each query when nothing else runs. */
const QUERY_RUNS = 40;
/** The read gate's longest pause after a read (src/collector/read-gate.ts). */
const READ_PAUSE_MAX_MS = 250;
/** During ingest, one query starts every this many ms (a few dashboards refreshing, an operator listing): not back to back. */
const BUSY_QUERY_EVERY_MS = 250;
const TARGET = { reportsPerSecond: 5000, ingestP99Ms: 20, summaryP99Ms: 100, listP99Ms: 20, rssMiB: 200 };

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = process.execPath;
const dir = mkdtempSync(join(tmpdir(), 'netready-bench-scale-'));
const children = new Set<ChildProcess>();
const shape = clusterOf(NODES, NAMESPACES);

/** The queries measured: name and path (a node or namespace picked per request). */
const QUERIES: readonly { name: string; kind: 'summary' | 'list'; path: (r: () => number) => string }[] = [
  { name: 'summary 1h', kind: 'summary', path: () => '/v1/summary?since=1h' },
  { name: 'summary 24h', kind: 'summary', path: () => '/v1/summary?since=24h' },
  { name: 'summary 7d', kind: 'summary', path: () => '/v1/summary?since=168h' },
  {
    name: 'list ?node=',
    kind: 'list',
    path: (r) => `/v1/reports?limit=50&node=${shape.nodes[Math.floor(r() * NODES)]}`,
  },
  {
    name: 'list ?namespace=',
    kind: 'list',
    path: (r) => `/v1/reports?limit=50&namespace=${shape.namespaces[Math.floor(r() * NAMESPACES)]}`,
  },
  { name: 'list ?outcome=timeout', kind: 'list', path: () => '/v1/reports?limit=50&outcome=timeout' },
  { name: 'list ?slower-than=20s', kind: 'list', path: () => '/v1/reports?limit=50&slower-than=20s' },
];

interface StoreResult {
  /** The store, and the bundle's label when several are compared. */
  store: string;
  preloadS: number;
  upkeepS: number;
  /** How long before this collector started the preload's newest report was received (a reused preload ages). */
  preloadAgeMin: number;
  idle: Map<string, number[]>;
  busy: Map<string, number[]>;
  ingest: {
    reportsPerSecond: number;
    p50: number;
    p99: number;
    non2xx: number;
    errors: number;
    timeouts: number;
    /** The generator's CPU seconds over its whole run, and the reports it got answered. */
    generatorCpuS: number;
    answered: number;
  };
  /** CPU seconds during ingest: the collector's, and PostgreSQL's (every process of the server; NaN for SQLite). */
  collectorCpuS: number;
  serverCpuS: number;
  rssEndMiB: number;
  rssPeakMiB: number;
  /** VmHWM once the queries alone are done, before ingest: what reading costs, apart from writing. */
  rssQueriesPeakMiB: number;
  storedAtEnd: number;
}

/** The preload as made: when its newest report was received, and what it took. */
interface Preload {
  endMs: number;
  preloadS: number;
  upkeepS: number;
}

const results: StoreResult[] = [];
let pg: PostgresServer | null = null;
try {
  console.error(
    `temp dir ${dir}; ${REPORTS.toLocaleString('en')} reports over ${NODES} nodes / ${NAMESPACES} namespaces; stores: ${STORES.join(', ')}`,
  );
  const perLabel = (option: string[] | undefined) =>
    new Map((option ?? []).map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] as const));
  const nodeFlags = perLabel(values['node-flags']);
  const nodeEnv = perLabel(values['node-env']);
  const bundles = (values.bundle ?? []).map((b) => {
    const eq = b.indexOf('=');
    const { label, path } =
      eq > 0 ? { label: b.slice(0, eq), path: b.slice(eq + 1) } : { label: basename(dirname(b)), path: b };
    const flags = nodeFlags.get(label);
    return {
      label,
      path,
      flags: flags === undefined ? imageNodeFlags() : flags.split(' ').filter(Boolean),
      env: benchNodeEnv(nodeEnv.get(label) ?? ''),
    };
  });
  if (bundles.length === 0 && !values.prepare) {
    execFileSync(NODE, [join(ROOT, 'scripts/build.ts'), join(dir, 'dist')], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    bundles.push({ label: '', path: join(dir, 'dist/netready.mjs'), flags: imageNodeFlags(), env: {} });
  }
  for (const store of STORES) {
    const kept = store === 'sqlite' ? SQLITE_DIR !== undefined : PG_DIR !== undefined;
    if (values.prepare && !kept) continue;
    let db: string;
    let preload: Preload;
    if (store === 'sqlite' && SQLITE_DIR !== undefined) {
      preload = await keptSqlite();
      if (values.prepare) continue;
      db = join(dir, 'reports.db');
    } else if (store === 'sqlite') {
      db = join(dir, 'reports.db');
      preload = await preloadStore(store, db);
    } else if (PG_DIR === undefined) {
      pg = await startPostgres({ fsync: true });
      db = pg.url('postgres');
      preload = await preloadStore(store, db);
    } else {
      pg = await startPostgres({ fsync: true, dir: PG_DIR });
      ({ db, preload } = await keptPreload(pg));
      if (values.prepare) continue;
    }
    for (let round = 0; round < ROUNDS; round++)
      for (const bundle of bundles) {
        const label = [store, bundle.label, ROUNDS > 1 ? `#${round + 1}` : ''].filter((x) => x !== '').join(' ');
        if (store === 'sqlite' && SQLITE_DIR !== undefined) {
          for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
          copyFileSync(keptSqlitePath(), db);
          // Untimed: the bundle's own collector opens the copy once (and migrates it, if its schema is newer).
          const first = await startCollector(bundle, db);
          first.child.kill('SIGTERM');
          await new Promise((r) => first.child.once('exit', r));
          children.delete(first.child);
        }
        // Each collector on the preload as made: the one before added its ingest to the last
        // minutes, which every summary reads (a later bundle would read more).
        if (store === 'postgres' && PG_DIR !== undefined && (round > 0 || bundle !== bundles[0]))
          await keptPreload(pg!);
        results.push(await benchCollector(label, bundle, db, preload));
      }
    await pg?.destroy();
    pg = null;
  }
  if (!values.prepare) report();
} finally {
  for (const c of children) c.kill('SIGKILL');
  await pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
}

/** 1. Preloads `db` through the store, in receive order, then runs its upkeep. */
async function preloadStore(name: string, db: string): Promise<Preload> {
  const t0 = performance.now();
  const store = await openStore(db, { maxRows: 10 * REPORTS, maxAgeMs: 0 });
  const start = Date.now() - SPAN_MS - 5 * 60_000;
  await writeReports(store, name, 0, REPORTS, start);
  const preloadS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await sweepOnce(store, { now: () => Date.now() });
  const upkeepS = (performance.now() - t1) / 1000;
  await store.close();
  console.error(`${name}: preload ${preloadS.toFixed(0)} s, upkeep ${upkeepS.toFixed(0)} s`);
  return { endMs: start + SPAN_MS, preloadS, upkeepS };
}

/** Reports number `from` to `to` of run 1, number i received at `start + (i - from) * SPAN_MS / REPORTS`, in batches. */
async function writeReports(store: ReportStore, name: string, from: number, to: number, start: number): Promise<void> {
  const t0 = performance.now();
  const rand = prng(from + 1);
  for (let i = from; i < to; i += PRELOAD_BATCH) {
    const n = Math.min(PRELOAD_BATCH, to - i);
    const batch = Array.from({ length: n }, (_x, k) => makeBenchReport(1, i + k, rand, shape));
    await store.insertBatch(batch, Math.floor(start + ((i - from) / REPORTS) * SPAN_MS));
    if ((i - from) % 100_000 === 0)
      console.error(
        `${name}: preloaded ${(i - from).toLocaleString('en')} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
  }
}

function keptSqlitePath(): string {
  return join(SQLITE_DIR!, `preload_${REPORTS}.db`);
}

/**
 * --sqlite-dir: the preload kept in DIR/preload_N.db (made now if missing);
 * --prepare tops it up to a few minutes ago at the preload's rate and runs its
 * upkeep. Each run then works on a fresh copy of it.
 */
async function keptSqlite(): Promise<Preload> {
  mkdirSync(SQLITE_DIR!, { recursive: true });
  const path = keptSqlitePath();
  const madeFile = join(SQLITE_DIR!, `preload_${REPORTS}.json`);
  if (!existsSync(madeFile)) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    writeFileSync(madeFile, JSON.stringify(await preloadStore('sqlite', path)));
  }
  const preload = JSON.parse(readFileSync(madeFile, 'utf8')) as Preload;
  if (values.prepare) await topUp('sqlite', path, preload, madeFile);
  return preload;
}

/**
 * --prepare: tops the kept preload at `db` up to a few minutes ago at the
 * preload's rate and runs its upkeep, so that its windows hold what a fresh
 * one's would; records the new end in `madeFile`. Whether it wrote anything.
 */
async function topUp(name: string, db: string, preload: Preload, madeFile: string): Promise<boolean> {
  const store = await openStore(db, { maxRows: 10 * REPORTS, maxAgeMs: 0 });
  try {
    const newest = (await store.list({ limit: 1 })).reports[0];
    const lastMs = newest ? Date.parse(newest.receivedAt) : 0;
    const due = Math.floor(((Date.now() - 5 * 60_000 - lastMs) / SPAN_MS) * REPORTS);
    if (due <= 0) return false;
    // Report numbers go on from the store's count: distinct uids (run 1 here, 2 and up for the load).
    await writeReports(store, `${name}: top-up`, store.rows, store.rows + due, lastMs + SPAN_MS / REPORTS);
    await sweepOnce(store, { now: () => Date.now() });
    console.error(`${name}: topped up with ${due.toLocaleString('en')} reports`);
    preload.endMs = Date.now() - 5 * 60_000;
    writeFileSync(madeFile, JSON.stringify(preload));
    return true;
  } finally {
    await store.close();
  }
}

/**
 * --pg-dir: the preload kept in database preload_N of the kept server (made
 * now if missing), and a fresh copy of it, database `bench`, for this run.
 * A copy marked ready (by --prepare) is used as it is; one a run has written
 * to is made again.
 */
async function keptPreload(server: PostgresServer): Promise<{ db: string; preload: Preload }> {
  const name = `preload_${REPORTS}`;
  const madeFile = join(PG_DIR!, `${name}.json`);
  const readyFile = join(PG_DIR!, 'bench-copy.json');
  const admin = new pgClient.Client({ connectionString: server.url('postgres') });
  await admin.connect();
  try {
    if (!existsSync(madeFile)) {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      const preload = await preloadStore('postgres', server.url(name));
      writeFileSync(madeFile, JSON.stringify(preload));
    }
    const preload = JSON.parse(readFileSync(madeFile, 'utf8')) as Preload;
    // A top-up changes the preload: its copy is made again.
    if (values.prepare && (await topUp('postgres', server.url(name), preload, madeFile)))
      rmSync(readyFile, { force: true });
    const copied = existsSync(readyFile) && readFileSync(readyFile, 'utf8') === name;
    if (!copied) {
      const t = performance.now();
      await admin.query('DROP DATABASE IF EXISTS bench');
      await admin.query(`CREATE DATABASE bench TEMPLATE ${name}`);
      console.error(`postgres: copied ${name} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    }
    // Ready for one run: the run writes to it.
    if (values.prepare) writeFileSync(readyFile, name);
    else rmSync(readyFile, { force: true });
    return { db: server.url('bench'), preload };
  } finally {
    await admin.end();
  }
}

/** 2-4. The collector of `bundle` on the preloaded `db`: queries alone, then ingest with queries beside it. */
async function benchCollector(
  name: string,
  bundle: { path: string; flags: string[]; env: Record<string, string> },
  db: string,
  preload: Preload,
): Promise<StoreResult> {
  const preloadAgeMin = (Date.now() - preload.endMs) / 60_000;
  console.error(`${name}: preload's newest report received ${preloadAgeMin.toFixed(1)} min ago`);
  const collector = await startCollector(bundle, db);
  try {
    const idle = new Map<string, number[]>();
    const qrand = prng(3);
    for (const q of QUERIES) await timed(collector.url, q.path(qrand)); // warm each once
    // The warm-ups ran back to back: wait out the read gates' pauses after them (a cold summary's
    // is the longest), so that the first timed summary does not wait for the last warm one's.
    await sleep(READ_PAUSE_MAX_MS + 10);
    for (let run = 0; run < QUERY_RUNS; run++) {
      const began = performance.now();
      for (const q of QUERIES) {
        const took = await timed(collector.url, q.path(qrand));
        push(idle, q.name, took);
        // The read gate keeps its slot after a read for as long as the read took (at most
        // READ_PAUSE_MAX_MS): wait that out, so that the next read's time is its own.
        await sleep(Math.min(took, READ_PAUSE_MAX_MS) + 10);
      }
      // The collector shares one window's summary among requests within SUMMARY_TTL_MS: wait that out, so each is computed.
      await sleep(Math.max(0, SUMMARY_TTL_MS + 100 - (performance.now() - began)));
    }
    const rssQueriesPeakMiB = statusKiB(collector.child.pid!, 'VmHWM') / 1024;

    // 3. Ingest with queries beside it.
    const busy = new Map<string, number[]>();
    let loading = true;
    const queryLoop = (async () => {
      for (let k = 0; loading; k++) {
        const q = QUERIES[k % QUERIES.length]!;
        const took = await timed(collector.url, q.path(qrand));
        push(busy, q.name, took);
        await sleep(Math.max(0, BUSY_QUERY_EVERY_MS - took));
      }
    })();
    const postmaster = db.startsWith('postgres') ? await postmasterPid(db) : null;
    const cpuBefore = { collector: cpuSeconds(collector.child.pid!), server: serverCpuSeconds(postmaster) };
    // Each run's reports are new ones (run 2, 3, ...): a later bundle on the same store must not be sent duplicates.
    const ingest = await load(collector.url, 2 + results.length);
    const collectorCpuS = cpuSeconds(collector.child.pid!) - cpuBefore.collector;
    const serverCpuS = serverCpuSeconds(postmaster) - cpuBefore.server;
    loading = false;
    await queryLoop;

    // 4. Memory, and how many reports it holds.
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    const storedAtEnd = Number(/^netready_store_reports (\d+)$/m.exec(metrics)?.[1]);
    return {
      store: name,
      preloadS: preload.preloadS,
      upkeepS: preload.upkeepS,
      preloadAgeMin,
      idle,
      busy,
      ingest,
      collectorCpuS,
      serverCpuS,
      rssEndMiB: statusKiB(collector.child.pid!, 'VmRSS') / 1024,
      rssPeakMiB: statusKiB(collector.child.pid!, 'VmHWM') / 1024,
      rssQueriesPeakMiB,
      storedAtEnd,
    };
  } finally {
    collector.child.kill('SIGTERM');
    await new Promise((r) => collector.child.once('exit', r));
    children.delete(collector.child);
  }
}

/** User + system CPU seconds of a process (/proc/PID/stat); with `children`, also of its children it has reaped. */
function cpuSeconds(pid: number, children = false): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / 100; // USER_HZ
}

/** The pid of the postmaster serving `db`: the parent of a backend. */
async function postmasterPid(db: string): Promise<number> {
  const c = new pgClient.Client({ connectionString: db });
  await c.connect();
  try {
    const backend = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return Number(readFileSync(`/proc/${backend}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  } finally {
    await c.end();
  }
}

/** CPU seconds of a PostgreSQL server: the postmaster, the backends it reaped, and its live processes; NaN without one. */
function serverCpuSeconds(postmaster: number | null): number {
  if (postmaster === null) return Number.NaN;
  let total = cpuSeconds(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.split(') ')[1]!.split(' ')[1]) === postmaster) total += cpuSeconds(Number(entry));
    } catch {
      // Ended meanwhile: its time went to the postmaster's reaped children.
    }
  }
  return total;
}

/** A kB field of /proc/PID/status (VmRSS, VmHWM). */
function statusKiB(pid: number, key: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
}

function push(m: Map<string, number[]>, key: string, v: number): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

/** One GET; resolves with its time in ms; throws on a non-200. */
async function timed(url: string, path: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url + path);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  return performance.now() - t;
}

/** Starts the collector of `bundle` on `db`; resolves once it listens. */
async function startCollector(
  bundle: { path: string; flags: string[]; env: Record<string, string> },
  db: string,
): Promise<{ child: ChildProcess; url: string }> {
  const argv = [
    ...bundle.flags,
    bundle.path,
    'collector',
    '--listen',
    '127.0.0.1:0',
    '--db',
    db,
    '--retention-age',
    '8d',
    '--retention-rows',
    String(10 * REPORTS),
  ];
  const child = spawn(NODE, argv, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '', ...bundle.env },
  });
  children.add(child);
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start in 60 s: ${buffered}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}: ${buffered}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const line = buffered.split('\n').find((l) => l.includes('"collector listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
  });
  child.stdout!.removeAllListeners('data').resume();
  return { child, url: `http://127.0.0.1:${port}` };
}

/** LOAD_S seconds of collector-load.ts against `url`, the reports of load run `run`. */
async function load(url: string, run: number): Promise<StoreResult['ingest']> {
  const args = [
    join(ROOT, 'bench/collector-load.ts'),
    url,
    '--run',
    String(run),
    '--connections',
    String(CONNECTIONS),
    '--duration',
    String(LOAD_S),
    '--nodes',
    String(NODES),
    '--namespaces',
    String(NAMESPACES),
  ];
  const child = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  children.delete(child);
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const r = JSON.parse(out);
  return {
    reportsPerSecond: r['2xx'] / r.duration,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    generatorCpuS: r.cpuSeconds,
    answered: r['2xx'],
  };
}

/** Nearest rank. */
function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

function report(): void {
  const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
  const verdict = (ok: boolean) => (ok ? 'met' : '**MISSED**');
  const names = results.map((r) => r.store);
  console.log(
    `\n${REPORTS.toLocaleString('en')} reports over ${NODES.toLocaleString('en')} nodes and ${NAMESPACES} namespaces, received over 7 days.\n`,
  );
  console.log(`| | ${names.join(' | ')} |`);
  console.log(`| --- |${names.map(() => ' ---: |').join('')}`);
  const row = (label: string, f: (r: StoreResult) => string) =>
    console.log(`| ${label} | ${results.map(f).join(' | ')} |`);
  row('preload through the store (s)', (r) => r.preloadS.toFixed(0));
  row('its upkeep: rollups (s)', (r) => r.upkeepS.toFixed(0));
  row("preload's newest report, before the collector started (min)", (r) => r.preloadAgeMin.toFixed(0));
  row(
    `ingest while queries run (one per ${BUSY_QUERY_EVERY_MS} ms), reports/s (${CONNECTIONS} connections, ${LOAD_S} s)`,
    (r) => Math.round(r.ingest.reportsPerSecond).toLocaleString('en'),
  );
  row('ingest p50 / p99', (r) => `${ms(r.ingest.p50)} / ${ms(r.ingest.p99)}`);
  const perReport = (s: number, r: StoreResult) =>
    Number.isNaN(s) ? '—' : `${Math.round((s * 1e6) / r.ingest.answered)}`;
  row(
    'CPU per report answered, µs: collector / PostgreSQL / generator (its whole run)',
    (r) => `${perReport(r.collectorCpuS, r)} / ${perReport(r.serverCpuS, r)} / ${perReport(r.ingest.generatorCpuS, r)}`,
  );
  for (const q of QUERIES)
    row(
      `${q.name} p50 / p99, alone (${QUERY_RUNS} runs)`,
      (r) => `${ms(pct(r.idle.get(q.name)!, 50))} / ${ms(pct(r.idle.get(q.name)!, 99))}`,
    );
  for (const q of QUERIES)
    row(
      `${q.name} p50 / p99, during ingest`,
      (r) =>
        `${ms(pct(r.busy.get(q.name) ?? [], 50))} / ${ms(pct(r.busy.get(q.name) ?? [], 99))} (${(r.busy.get(q.name) ?? []).length})`,
    );
  row('collector RSS peak after the queries alone (before ingest)', (r) => `${r.rssQueriesPeakMiB.toFixed(1)} MiB`);
  row('collector RSS at the end / peak (VmHWM)', (r) => `${r.rssEndMiB.toFixed(1)} / ${r.rssPeakMiB.toFixed(1)} MiB`);
  row('reports stored at the end', (r) => r.storedAtEnd.toLocaleString('en'));
  console.log(
    `\n- ${cpus().length} cores, Linux ${release()}, Node.js ${process.versions.node}; load average at the end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log('\nTargets:\n');
  for (const r of results) {
    const worst = (kind: 'summary' | 'list', m: Map<string, number[]>) =>
      Math.max(...QUERIES.filter((q) => q.kind === kind).map((q) => pct(m.get(q.name) ?? [NaN], 99)));
    const ok = r.ingest.non2xx === 0 && r.ingest.errors === 0 && r.ingest.timeouts === 0;
    console.log(
      `- ${r.store}: ingest ≥ ${TARGET.reportsPerSecond}/s: ${Math.round(r.ingest.reportsPerSecond)} — ${verdict(r.ingest.reportsPerSecond >= TARGET.reportsPerSecond)}; p99 ≤ ${TARGET.ingestP99Ms} ms: ${ms(r.ingest.p99)} — ${verdict(r.ingest.p99 <= TARGET.ingestP99Ms)}; every request 202: ${verdict(ok)}`,
    );
    console.log(
      `- ${r.store}: summary p99 ≤ ${TARGET.summaryP99Ms} ms: worst alone ${ms(worst('summary', r.idle))} — ${verdict(worst('summary', r.idle) <= TARGET.summaryP99Ms)}, worst during ingest ${ms(worst('summary', r.busy))} — ${verdict(worst('summary', r.busy) <= TARGET.summaryP99Ms)}`,
    );
    console.log(
      `- ${r.store}: list page p99 ≤ ${TARGET.listP99Ms} ms: worst alone ${ms(worst('list', r.idle))} — ${verdict(worst('list', r.idle) <= TARGET.listP99Ms)}, worst during ingest ${ms(worst('list', r.busy))} — ${verdict(worst('list', r.busy) <= TARGET.listP99Ms)}`,
    );
    console.log(
      `- ${r.store}: RSS ≤ ${TARGET.rssMiB} MiB: peak ${r.rssPeakMiB.toFixed(1)} MiB — ${verdict(r.rssPeakMiB <= TARGET.rssMiB)}`,
    );
  }
}
