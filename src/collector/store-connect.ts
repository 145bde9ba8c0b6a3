// A PostgreSQL that cannot be reached when the collector starts is waited for,
// not a reason to exit (issue 11): the collector starts unready (/readyz 503,
// reports 503, which the agents retry within their budget) while p-retry opens
// the store with backoff in the background; once it is open every call goes
// to it and the collector serves without a restart. A store that answers but
// refuses (the login, a newer schema, a read-only or corrupt SQLite file)
// still fails start-up at once: waiting would not fix it.
import pRetry from 'p-retry';
import { CodedError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { openStore, type OpenOptions, type ReportStore } from './store.ts';

/** Backoff between attempts to open an unreachable store: 0.5 s doubling up to 10 s, jittered. */
export const OPEN_BACKOFF = { minTimeout: 500, maxTimeout: 10_000, factor: 2, randomize: true } as const;

/** The error code that makes start-up wait instead of fail. */
const UNREACHABLE = 'ERR_STORE_UNREACHABLE';

/**
 * Opens the store that `db` names. When the first attempt finds it
 * unreachable, resolves at once with a store that rejects every call with
 * ERR_STORE_UNREACHABLE until a background attempt opens it; any other error
 * rejects as openStore does.
 */
export async function openStoreWaiting(
  db: string,
  options: OpenOptions,
  log: Logger,
  backoff: typeof OPEN_BACKOFF = OPEN_BACKOFF,
): Promise<ReportStore> {
  try {
    return await openStore(db, options);
  } catch (err) {
    if ((err as { code?: string }).code !== UNREACHABLE) throw err;
    log.warn({ err }, `${(err as Error).message}; starting unready, retrying in the background`);
    return new WaitingStore(() => openStore(db, options), err as Error, log, backoff);
  }
}

/** A store being opened in the background; see the file's comment. */
class WaitingStore implements ReportStore {
  // Only PostgreSQL is ever unreachable: an SQLite file opens or fails.
  readonly kind = 'postgres' as const;
  #store: ReportStore | null = null;
  #lastError: Error;
  readonly #stop = new AbortController();
  readonly #opening: Promise<void>;

  constructor(open: () => Promise<ReportStore>, firstError: Error, log: Logger, backoff: typeof OPEN_BACKOFF) {
    this.#lastError = firstError;
    this.#opening = pRetry(open, {
      ...backoff,
      retries: Number.POSITIVE_INFINITY,
      signal: this.#stop.signal,
      onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
        this.#lastError = error;
        log.warn(
          { err: error, attempt: attemptNumber, retryInMs: retryDelay },
          `the store is not open yet: ${error.message}`,
        );
      },
    }).then(
      async (store) => {
        if (this.#stop.signal.aborted) return store.close();
        this.#store = store;
        log.info({ reports: store.rows }, 'the store is open; serving');
      },
      () => {}, // aborted by close()
    );
  }

  /** The open store, or the error a caller gets while there is none. */
  #open(): ReportStore {
    if (this.#store) return this.#store;
    throw new CodedError(UNREACHABLE, `the store is not open yet: ${this.#lastError.message}`, {
      cause: this.#lastError,
    });
  }

  get rows(): number {
    return this.#store?.rows ?? 0;
  }

  async insertBatch(...args: Parameters<ReportStore['insertBatch']>) {
    return this.#open().insertBatch(...args);
  }
  async insertOutage(...args: Parameters<ReportStore['insertOutage']>) {
    return this.#open().insertOutage(...args);
  }
  async listOutages(...args: Parameters<ReportStore['listOutages']>) {
    return this.#open().listOutages(...args);
  }
  async list(...args: Parameters<ReportStore['list']>) {
    return this.#open().list(...args);
  }
  async window(...args: Parameters<ReportStore['window']>) {
    return this.#open().window(...args);
  }
  async maintain(...args: Parameters<ReportStore['maintain']>) {
    return this.#open().maintain(...args);
  }
  async probeWritable(...args: Parameters<ReportStore['probeWritable']>) {
    return this.#open().probeWritable(...args);
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#opening;
    await this.#store?.close();
  }
}
