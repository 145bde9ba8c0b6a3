// Certificates made with openssl (independent of the code under test), laid out
// as the kubelet lays out a Secret volume, and swapped as it swaps them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

export interface Issued {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A fresh CA (EC P-256) and a serving certificate for 127.0.0.1 and localhost signed by it, valid `days` from now (-1: expired yesterday). */
export function issue(dir: string, name: string, cn = 'netready-webhook.netready-system.svc', days = 1): Issued {
  const d = join(dir, `issue-${name}`);
  mkdirSync(d, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      `/CN=test CA ${name}`,
    ],
    d,
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'tls.key',
      '-out',
      'tls.csr',
      '-subj',
      `/CN=${cn}`,
    ],
    d,
  );
  writeFileSync(
    join(d, 'ext.cnf'),
    `subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:${cn}\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'tls.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'tls.crt',
      '-days',
      String(days),
      '-extfile',
      'ext.cnf',
    ],
    d,
  );
  const read = (f: string) => readFileSync(join(d, f), 'utf8');
  return { caPem: read('ca.crt'), certPem: read('tls.crt'), keyPem: read('tls.key') };
}

let generation = 0;

/**
 * Writes the pair as the kubelet does for a Secret volume: a timestamped
 * directory, `..data` pointing at it (swapped by an atomic rename), and
 * `tls.crt`/`tls.key` links through `..data`. Returns the paths to pass as flags.
 */
export function publishSecret(mount: string, pair: Issued): { cert: string; key: string } {
  mkdirSync(mount, { recursive: true });
  const stamp = `..2026_11_25_10_00_00.${String(++generation).padStart(9, '0')}`;
  mkdirSync(join(mount, stamp));
  writeFileSync(join(mount, stamp, 'tls.crt'), pair.certPem);
  writeFileSync(join(mount, stamp, 'tls.key'), pair.keyPem);
  let previous: string | null = null;
  try {
    previous = readlinkSync(join(mount, '..data'));
  } catch {}
  symlinkSync(stamp, join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  for (const f of ['tls.crt', 'tls.key']) {
    try {
      symlinkSync(`..data/${f}`, join(mount, f));
    } catch {}
  }
  if (previous) rmSync(join(mount, previous), { recursive: true, force: true });
  return { cert: join(mount, 'tls.crt'), key: join(mount, 'tls.key') };
}
