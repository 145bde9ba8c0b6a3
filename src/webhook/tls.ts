// The serving certificate, from files (a mounted Secret), reloaded without a
// restart. The kubelet updates a Secret volume by writing a new timestamped
// directory and swapping the `..data` symlink, so the files' own inodes never
// change and a watch on the file would miss it: watch the directories instead,
// re-read both files, and give the server a new secure context. Established
// connections keep the context they were made with; new ones get the new one.
// A directory deleted and made again (a hostPath, a CSI volume) leaves an
// inotify watch on the old inode: after every event the watches are set up
// again, on the nearest directory that exists.
import { existsSync, watch, readFileSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type Server } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { CodedError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads and checks a certificate and its key. Throws CodedError `ERR_TLS` saying which file is wrong. */
export function loadKeyPair(certFile: string, keyFile: string): KeyPair {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CodedError('ERR_TLS', `cannot read the ${what} ${file} (${(err as NodeJS.ErrnoException).code})`);
    }
  };
  const pair = { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
  try {
    // Throws on bad PEM and on a key that does not match the certificate.
    createSecureContext(pair);
  } catch (err) {
    throw new CodedError(
      'ERR_TLS',
      `${certFile} and ${keyFile} are not a usable certificate and key: ${(err as Error).message}`,
    );
  }
  return pair;
}

/** Subject and expiry of a PEM certificate, for logs. */
export function describeCert(cert: Buffer): { subject: string; notAfter: string } {
  const x = new X509Certificate(cert);
  return { subject: x.subject.replace(/\n/g, ', '), notAfter: new Date(x.validTo).toISOString() };
}

/** A certificate expiring within this window is warned about (cert-manager renews 30 days ahead by default). */
export const EXPIRY_WARNING_MS = 7 * 86_400_000;

/** When the certificate expires, and whether that is past or near as of `nowMs`. */
export function certificateExpiry(
  cert: Buffer,
  nowMs: number,
): { notAfter: Date; state: 'valid' | 'expiring' | 'expired' } {
  const notAfter = new Date(new X509Certificate(cert).validTo);
  const left = notAfter.getTime() - nowMs;
  return { notAfter, state: left <= 0 ? 'expired' : left <= EXPIRY_WARNING_MS ? 'expiring' : 'valid' };
}

/** Events within this window are one change: a Secret update touches several entries. */
const DEBOUNCE_MS = 50;
/** Re-checks even without events, for volumes where inotify says nothing. */
const POLL_MS = 30_000;

/**
 * Keeps `server`'s certificate in step with the files. A pair that does not load
 * (half-written, mismatched) is logged and the old one kept; the next change retries.
 * `onReload` sees each pair put in use.
 */
export function watchKeyPair(
  server: Pick<Server, 'setSecureContext'>,
  certFile: string,
  keyFile: string,
  current: KeyPair,
  log: Logger,
  onReload: (pair: KeyPair) => void = () => {},
): { close(): void } {
  let loaded = current;
  let timer: NodeJS.Timeout | undefined;
  // Logged once per distinct problem: while the directory is gone, every event in its parent retries.
  let problem: string | null = null;
  const reload = () => {
    timer = undefined;
    let next: KeyPair;
    try {
      next = loadKeyPair(certFile, keyFile);
    } catch (err) {
      if ((err as Error).message !== problem)
        log.warn({ err }, 'new TLS certificate not usable yet; still serving the previous one');
      problem = (err as Error).message;
      return;
    }
    problem = null;
    if (next.cert.equals(loaded.cert) && next.key.equals(loaded.key)) return;
    server.setSecureContext({ cert: next.cert, key: next.key });
    loaded = next;
    log.info(describeCert(next.cert), 'TLS certificate reloaded');
    onReload(next);
  };
  let closed = false;
  let watchers: FSWatcher[] = [];
  let warned = false;
  const arm = () => {
    for (const w of watchers) w.close();
    watchers = [];
    if (closed) return;
    for (const dir of new Set([dirname(certFile), dirname(keyFile)].map(nearestExisting))) {
      try {
        const w = watch(dir, { persistent: false }, schedule);
        w.on('error', schedule);
        watchers.push(w);
      } catch (err) {
        if (!warned) log.warn({ err, dir }, 'cannot watch the certificate directory; relying on the periodic check');
        warned = true;
      }
    }
  };
  // Every event may be the directory going or coming back: watch again, then reload.
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      arm();
      reload();
    }, DEBOUNCE_MS);
  };
  arm();
  const poll = setInterval(() => {
    arm();
    reload();
  }, POLL_MS).unref();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      arm();
    },
  };
}

/** `dir`, or its closest ancestor that exists (whose events tell when `dir` comes back). */
function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}
