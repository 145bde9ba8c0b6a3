// A real PostgreSQL 15 server for tests: initdb into a temp directory, the
// postmaster on loopback at a free port, removed when the test process exits.
// PostgreSQL refuses to run as root: as root the server runs as `nobody`.
// A missing server is an error, never a skip (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Where Debian's postgresql-15 puts its programs. */
export const PG_BIN = process.env.NETREADY_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const USER = 'netready';
const PASSWORD = 'test-pw-0f3a';
/** uid/gid of `nobody` on Debian. */
const NOBODY = 65534;

export interface PostgresServer {
  readonly port: number;
  /** A URL for database `db` on this server, the password in it unless `withPassword` is false. */
  url(db: string, withPassword?: boolean): string;
  readonly password: string;
  /** Stops the server (fast shutdown); start() brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const asServerUser = (): { uid?: number; gid?: number } => (process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {});

/** Initializes and starts a new server. */
export async function startPostgres(): Promise<PostgresServer> {
  if (!existsSync(join(PG_BIN, 'postgres'))) {
    throw new Error(`PostgreSQL 15 not found under ${PG_BIN} (Debian package postgresql-15; .ci/run installs it)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'netready-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  const ids = asServerUser();
  if (ids.uid !== undefined) {
    chownSync(dir, ids.uid, ids.gid!);
    chownSync(pwfile, ids.uid, ids.gid!);
  }
  chmodSync(dir, 0o700);
  const init = spawnSync(join(PG_BIN, 'initdb'), ['-D', data, '-U', USER, '--pwfile', pwfile, '-A', 'scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale', 'C'], {
    ...ids,
    encoding: 'utf8',
    cwd: dir,
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}${init.stdout}`);
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const server: PostgresServer = {
    port,
    password: PASSWORD,
    url: (db, withPassword = true) => `postgres://${USER}${withPassword ? `:${PASSWORD}` : ''}@127.0.0.1:${port}/${db}`,
    async start() {
      // No unix socket: loopback TCP only. fsync stays on: the tests stop and start it.
      child = spawn(join(PG_BIN, 'postgres'), ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'], {
        ...ids,
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      // The server must not keep the test process alive: it is stopped on exit.
      child.unref();
      (child.stderr as unknown as { unref(): void }).unref();
      const c = child;
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const client = new pg.Client({ connectionString: server.url('postgres') });
        try {
          await client.connect();
          await client.end();
          return;
        } catch {
          await client.end().catch(() => {});
          if (c.exitCode !== null || Date.now() > deadline) throw new Error(`postgres did not start: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async stop() {
      if (child && child.exitCode === null) {
        // SIGINT: fast shutdown (clients cut, everything committed kept).
        child.kill('SIGINT');
        await exited;
      }
      child = null;
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  // Whatever happens to the test, the server does not outlive it.
  process.once('exit', () => {
    if (child && child.exitCode === null) child.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

let shared: Promise<PostgresServer> | null = null;
let databases = 0;

/** The server shared by this test process, started on first use. */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= startPostgres();
  return shared;
}

/** A new, empty database on the shared server; resolves with its URL. */
export async function freshDatabase(): Promise<string> {
  const server = await sharedPostgres();
  const name = `t${process.pid}_${++databases}`;
  const client = new pg.Client({ connectionString: server.url('postgres') });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return server.url(name);
}
