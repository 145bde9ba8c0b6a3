// The PostgreSQL store's schema, its migrations, and the pool that reaches it.
// Several replicas may start together on one database: each migrates inside a
// transaction that holds an advisory lock, so one does the work and the rest
// find it done (CREATE ... IF NOT EXISTS alone races on the catalogs).
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { CodedError } from '../lib/errors.ts';

/** netready's advisory locks: (class, key) pairs for pg_advisory_xact_lock(int4, int4). */
export const LOCK_CLASS = 0x6e6574; // "net"
export const LOCK = {
  /** Held while the schema is created or migrated. */
  schema: 1,
  /** Held by the one replica that runs a retention or rollup step. */
  maintain: 2,
} as const;

/**
 * Migration n brings the schema from version n to n + 1; the version is kept
 * in netready_meta. Tables are prefixed netready_: the database may be shared.
 * Like the SQLite store (sqlite-store.ts), a report's identity is its pod uid
 * and start time, or without a uid its namespace, name and node; every list
 * filter has an index ending in the id. Unlike SQLite, ids are handed out at
 * insert and commits of several replicas interleave, so receive times are
 * walked by their own index (received_ms, id). Outages (netready watch): one
 * row per pod and outage start, kept by the same retention as reports.
 */
export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE netready_reports (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_ms BIGINT NOT NULL,
  pod_uid TEXT NOT NULL,
  pod_namespace TEXT NOT NULL,
  pod_name TEXT NOT NULL,
  node TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  delay_seconds DOUBLE PRECISION NOT NULL,
  body TEXT NOT NULL
);
CREATE UNIQUE INDEX netready_reports_by_uid ON netready_reports (started_ms, pod_uid) WHERE pod_uid <> '';
CREATE UNIQUE INDEX netready_reports_by_name ON netready_reports (started_ms, pod_namespace, pod_name, node) WHERE pod_uid = '';
CREATE INDEX netready_reports_node ON netready_reports (node, id);
CREATE INDEX netready_reports_namespace ON netready_reports (pod_namespace, id);
CREATE INDEX netready_reports_outcome ON netready_reports (outcome, id);
CREATE INDEX netready_reports_delay ON netready_reports (delay_seconds);
CREATE INDEX netready_reports_received ON netready_reports (received_ms, id);
CREATE TABLE netready_outages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_ms BIGINT NOT NULL,
  pod_uid TEXT NOT NULL,
  pod_namespace TEXT NOT NULL,
  pod_name TEXT NOT NULL,
  node TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  body TEXT NOT NULL
);
CREATE UNIQUE INDEX netready_outages_identity ON netready_outages (started_ms, pod_uid, pod_namespace, pod_name, node);
CREATE INDEX netready_outages_node ON netready_outages (node, id);
CREATE INDEX netready_outages_namespace ON netready_outages (pod_namespace, id);
CREATE INDEX netready_outages_received ON netready_outages (received_ms, id);
CREATE TABLE netready_agg_minute (
  minute_ms BIGINT NOT NULL, scope SMALLINT NOT NULL, key TEXT NOT NULL, bucket SMALLINT NOT NULL,
  reports BIGINT NOT NULL, timeouts BIGINT NOT NULL, max_delay DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (minute_ms, scope, key, bucket)
);
CREATE TABLE netready_rollups (level SMALLINT NOT NULL, period_ms BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (level, period_ms));
CREATE TABLE netready_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms BIGINT NOT NULL);
`,
  // Each replica's minute cells under an id of its own (postgres-own-cells.ts), so that a summary
  // reads only the other replicas' unsettled ones: in the key after the minute, so that within a
  // minute the index skips this replica's cells. Cells written before count as replica 0's.
  // Replicas still running the previous version cannot write cells once this ran: upgrade them together.
  `
CREATE SEQUENCE netready_replicas AS integer CYCLE;
ALTER TABLE netready_agg_minute ADD COLUMN replica INTEGER NOT NULL DEFAULT 0;
ALTER TABLE netready_agg_minute DROP CONSTRAINT netready_agg_minute_pkey;
ALTER TABLE netready_agg_minute ADD PRIMARY KEY (minute_ms, replica, scope, key, bucket);
`,
  // Cells appended by each batch instead of upserted (postgres-store.ts), so a (minute, replica,
  // scope, key, bucket) may have several rows, summed when read: an upsert per cell cost the server
  // ~30 of its ~90 µs of CPU per report, the append ~5 (BENCHMARKS.md, bench/collector-scale, session 7).
  // Indexed by minute and replica: reads take a minute range, or the other replicas' cells of given minutes.
  `
ALTER TABLE netready_agg_minute DROP CONSTRAINT netready_agg_minute_pkey;
CREATE INDEX netready_agg_minute_minute ON netready_agg_minute (minute_ms, replica);
`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Anything that runs a query: the pool or one client in a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** Connections per replica at most: one commit at a time, reads, retention and readiness beside it. */
const POOL_SIZE = 10;
/** A connection attempt gives up after this long (an unreachable host): readiness and ingest answer 503. */
const CONNECT_TIMEOUT_MS = 5_000;
/** No statement of the collector runs longer than this on the server. */
const STATEMENT_TIMEOUT_MS = 30_000;

/**
 * A pool for `url`. The password is, first to last: `password` (from
 * --db-password-file), the URL's, PGPASSWORD; other parts missing from the
 * URL come from the PG* variables (node-postgres reads them).
 */
export function createPool(url: string, password: string | null): pg.Pool {
  // Parsed here, not passed as connectionString: node-postgres lets the URL
  // override an explicit password, and the file must win.
  const fromUrl = parseIntoClientConfig(url);
  const pool = new pg.Pool({
    ...fromUrl,
    ...(password !== null ? { password } : {}),
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'netready-collector',
  });
  // An idle connection that breaks (the server restarted) is dropped by the
  // pool; without a listener the event would end the process. The next
  // query, readiness included, reports the outage.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `fn` in a transaction on one connection of `pool`: COMMIT when it
 * resolves, ROLLBACK when it throws. A connection that broke meanwhile (the
 * server went away) is closed, not returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out connection has no listener of its own: an error between two
  // queries (the server shut down) would otherwise end the process.
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    broken ??= await client.query('ROLLBACK').then(
      () => undefined,
      (e: Error) => e,
    );
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Creates or migrates the schema under the schema lock; throws when the database is newer than this collector. */
export async function migrate(pool: pg.Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK.schema]);
    await client.query('CREATE TABLE IF NOT EXISTS netready_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)');
    const row = (await client.query<{ value: string }>("SELECT value FROM netready_meta WHERE key = 'schema_version'"))
      .rows[0];
    const version = row ? Number(row.value) : 0;
    if (version > SCHEMA_VERSION) {
      throw new CodedError(
        'ERR_STORE_SCHEMA',
        `the database holds schema version ${version}, newer than this collector's ${SCHEMA_VERSION}: run the newer netready, or point --db at another database`,
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]!);
    await client.query(
      "INSERT INTO netready_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [SCHEMA_VERSION],
    );
  });
}

/** SQLSTATE classes and codes met while opening (PostgreSQL's errcodes). */
const AUTH_FAILED = ['28000', '28P01'];
const NO_DATABASE = '3D000';
/**
 * The server is there but not serving yet or any more (57P01-57P03: shutting
 * down, crashed, starting up), or the connection broke (class 08): as good as
 * unreachable, and worth waiting for.
 */
const NOT_SERVING = /^(57P0[1-3]|08...)$/;

/**
 * The operator's next step for an error met while opening the store at
 * `where` (host, port and database: never the password; node-postgres's
 * messages do not hold it either).
 */
export function openError(err: unknown, where: string): Error {
  if (err instanceof CodedError) return err;
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message;
  if (AUTH_FAILED.includes(code)) {
    return new CodedError(
      'ERR_STORE_AUTH',
      `PostgreSQL at ${where} refused the login (${message}): check the user and the password (--db-password-file, the URL, or PGPASSWORD)`,
      { cause: err },
    );
  }
  if (code === NO_DATABASE)
    return new CodedError(
      'ERR_STORE_OPEN',
      `PostgreSQL at ${where}: ${message}; create it (CREATE DATABASE) or fix the URL's path`,
      { cause: err },
    );
  if (/^[0-9A-Z]{5}$/.test(code) && !NOT_SERVING.test(code))
    return new CodedError(
      'ERR_STORE_OPEN',
      `PostgreSQL at ${where} refused to set up the schema (${code}: ${message}): the user needs CREATE on the database`,
      { cause: err },
    );
  return new CodedError(
    'ERR_STORE_UNREACHABLE',
    `cannot reach PostgreSQL at ${where} (${code || message}): check the host, the port and that the server runs`,
    { cause: err },
  );
}

/** host:port/database of a pool, for messages. */
export function describeTarget(pool: pg.Pool): string {
  const o = pool.options as { host?: string; port?: number; database?: string };
  return `${o.host ?? process.env.PGHOST ?? 'localhost'}:${o.port ?? process.env.PGPORT ?? 5432}/${o.database ?? process.env.PGDATABASE ?? ''}`;
}
