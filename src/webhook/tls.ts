// The serving certificate, from files (a mounted Secret), reloaded without a
// restart. The kubelet updates a Secret volume by writing a new timestamped
// directory and swapping the `..data` symlink, so the files' own inodes never
// change and a watch on the file would miss it: watch the directories instead,
// re-read both files, and give the server a new secure context. Established
// connections keep the context they were made with; new ones get the new one.
import { watch, readFileSync, type FSWatcher } from 'node:fs';
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
    throw new CodedError('ERR_TLS', `${certFile} and ${keyFile} are not a usable certificate and key: ${(err as Error).message}`);
  }
  return pair;
}

/** Subject and expiry of a PEM certificate, for logs. */
export function describeCert(cert: Buffer): { subject: string; notAfter: string } {
  const x = new X509Certificate(cert);
  return { subject: x.subject.replace(/\n/g, ', '), notAfter: new Date(x.validTo).toISOString() };
}

/** Events within this window are one change: a Secret update touches several entries. */
const DEBOUNCE_MS = 50;
/** Re-checks even without events, for volumes where inotify says nothing. */
const POLL_MS = 30_000;

/**
 * Keeps `server`'s certificate in step with the files. A pair that does not load
 * (half-written, mismatched) is logged and the old one kept; the next change retries.
 */
export function watchKeyPair(server: Pick<Server, 'setSecureContext'>, certFile: string, keyFile: string, current: KeyPair, log: Logger): { close(): void } {
  let loaded = current;
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    let next: KeyPair;
    try {
      next = loadKeyPair(certFile, keyFile);
    } catch (err) {
      log.warn({ err }, 'new TLS certificate not usable yet; still serving the previous one');
      return;
    }
    if (next.cert.equals(loaded.cert) && next.key.equals(loaded.key)) return;
    server.setSecureContext({ cert: next.cert, key: next.key });
    loaded = next;
    log.info(describeCert(next.cert), 'TLS certificate reloaded');
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, DEBOUNCE_MS);
  };
  const watchers: FSWatcher[] = [...new Set([dirname(certFile), dirname(keyFile)])].map((dir) => watch(dir, { persistent: false }, schedule));
  for (const w of watchers) w.on('error', (err) => log.warn({ err }, 'cannot watch the certificate directory; relying on the periodic check'));
  const poll = setInterval(reload, POLL_MS).unref();
  return {
    close() {
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
