// A real PostgreSQL server for tests (Debian's postgresql package): initdb into
// a temp directory, the postmaster on loopback at a free port. A missing
// server is an error, never a skip (.ci/run installs it).
//
// The postmaster runs under a small sh wrapper whose stdin is a pipe from the
// test process: when that pipe closes (the test process ended, however: even
// kill -9) the wrapper stops the server and removes its directory, so no
// server outlives its test. fsync is off unless asked for (benchmarks): a
// commit still waits for the server (and survives its stop, kill or
// restart), only not for the disk, which no test crashes. PostgreSQL refuses to run as root: as root, the
// wrapper (and so the server) runs as `nobody` in a directory chowned to it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The newest Debian PostgreSQL's programs (/usr/lib/postgresql/<major>/bin), or NETREADY_TEST_PG_BIN. */
export function postgresBin(): string {
  if (process.env.NETREADY_TEST_PG_BIN) return process.env.NETREADY_TEST_PG_BIN;
  const majors = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d))
    : [];
  const newest = majors.map(Number).sort((a, b) => b - a)[0];
  return newest === undefined ? '/usr/lib/postgresql/(none)/bin' : `/usr/lib/postgresql/${newest}/bin`;
}

const USER = 'netready';
const PASSWORD = 'test-pw-0f3a';
/** uid/gid of `nobody` on Debian. */
const NOBODY = 65534;

/**
 * $1 postgres, $2 data dir, $3 port, $4 the server's dir, $5 fsync (on|off), $6 "kept" for a
 * directory given by the caller. Reads one line from stdin: "keep" stops the
 * server (fast shutdown) and keeps the data for a later start; anything else,
 * or end of input, also removes the directory, unless it is a kept one.
 */
const WRAPPER = `
"$1" -D "$2" -p "$3" -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200 -c fsync="$5" >>"$4/log" 2>&1 &
pg=$!
read -r what || what=destroy
kill -INT "$pg" 2>/dev/null
wait "$pg"
[ "$what" = keep ] || [ "$6" = kept ] || rm -rf "$4"
`;

export interface PostgresServer {
  readonly port: number;
  readonly password: string;
  /** A URL for database `db` on this server, the password in it unless `withPassword` is false. */
  url(db: string, withPassword?: boolean): string;
  /** Stops the server (fast shutdown: clients cut, everything committed kept). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its directory (a kept `dir` stays). */
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

const serverUser = (): { uid?: number; gid?: number } => (process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {});

export interface PostgresOptions {
  /** fsync=on (benchmarks); off by default. */
  readonly fsync?: boolean;
  /**
   * A directory the server keeps its data in across processes (benchmarks
   * reuse a preloaded store): initialized when it holds no data yet, never
   * removed. Default: a new temp directory, removed with the server.
   */
  readonly dir?: string;
}

/** Initializes and starts a server (or starts the one kept in `options.dir`); rejects when PostgreSQL is not installed or does not start. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBin();
  if (!existsSync(join(bin, 'postgres')))
    throw new Error(`PostgreSQL not found under ${bin} (Debian package postgresql; .ci/run installs it)`);
  const kept = options.dir !== undefined;
  if (kept) mkdirSync(options.dir!, { recursive: true });
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'netready-pg-'));
  const data = join(dir, 'data');
  const ids = serverUser();
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  if (ids.uid !== undefined) {
    chownSync(dir, ids.uid, ids.gid!);
    chownSync(pwfile, ids.uid, ids.gid!);
  }
  chmodSync(dir, 0o700);
  const init =
    kept && existsSync(join(data, 'PG_VERSION'))
      ? null
      : spawnSync(
          join(bin, 'initdb'),
          [
            '-D',
            data,
            '-U',
            USER,
            '--pwfile',
            pwfile,
            '-A',
            'scram-sha-256',
            '--no-sync',
            '-E',
            'UTF8',
            '--locale',
            'C',
          ],
          { ...ids, cwd: dir, encoding: 'utf8' },
        );
  if (init !== null && init.status !== 0) {
    if (!kept) rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.error?.message ?? ''}${init.stderr}${init.stdout}`);
  }
  const port = await freePort();
  let wrapper: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const end = async (what: 'keep' | 'destroy') => {
    const w = wrapper;
    wrapper = null;
    if (!w || w.exitCode !== null) return;
    w.ref();
    w.stdin!.end(`${what}\n`);
    await exited;
  };
  const server: PostgresServer = {
    port,
    password: PASSWORD,
    url: (db, withPassword = true) => `postgres://${USER}${withPassword ? `:${PASSWORD}` : ''}@127.0.0.1:${port}/${db}`,
    async start() {
      const w = spawn(
        '/bin/sh',
        [
          '-c',
          WRAPPER,
          'pg-wrapper',
          join(bin, 'postgres'),
          data,
          String(port),
          dir,
          options.fsync ? 'on' : 'off',
          kept ? 'kept' : 'temp',
        ],
        {
          ...ids,
          cwd: dir,
          stdio: ['pipe', 'ignore', 'ignore'],
        },
      );
      wrapper = w;
      exited = new Promise((resolve) => w.once('exit', () => resolve()));
      // A shared server must not keep the test process alive; its pipe closing stops it.
      w.unref();
      (w.stdin as unknown as { unref(): void }).unref();
      const deadline = Date.now() + 30_000;
      for (;;) {
        const client = new pg.Client({ connectionString: server.url('postgres'), connectionTimeoutMillis: 2000 });
        try {
          await client.connect();
          await client.end();
          return;
        } catch (err) {
          await client.end().catch(() => {});
          if (w.exitCode !== null || Date.now() > deadline) {
            const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-4000) : '';
            throw new Error(`postgres did not start (${(err as Error).message}): ${log}`);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    stop: () => end('keep'),
    destroy: () => end('destroy'),
  };
  try {
    await server.start();
  } catch (err) {
    await server.destroy();
    if (!kept) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return server;
}

let shared: Promise<PostgresServer> | null = null;
let databases = 0;

/** The server shared by this test process, started on first use, stopped when the process ends. */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= startPostgres();
  return shared;
}

/** A new, empty database on the shared server; resolves with its URL (password included). */
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
