// The stores the contract tests run against, as one table: SQLite in a temp
// file, and PostgreSQL in a fresh database on a real server (postgres.ts)
// started once per test file.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openStore, type ReportStore, type StoreOptions } from '../../src/collector/store.ts';
import { tempDir } from './helpers.ts';
import { freshDatabase } from '../helpers/postgres.ts';

export interface StoreKind {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty store, closed when the test ends; `reopen` opens the same database again. */
  open(
    t: TestContext,
    options?: Partial<StoreOptions>,
  ): Promise<{ store: ReportStore; db: string; reopen(options?: Partial<StoreOptions>): Promise<ReportStore> }>;
}

const DEFAULTS: StoreOptions = { maxRows: 1_000_000, maxAgeMs: 0 };

async function opened(t: TestContext, db: string, options: Partial<StoreOptions>) {
  const store = await openStore(db, { ...DEFAULTS, ...options });
  t.after(() => store.close());
  return store;
}

export const STORE_KINDS: readonly StoreKind[] = [
  {
    name: 'sqlite',
    async open(t, options = {}) {
      const db = join(tempDir(t), 'sub', 'reports.db');
      return { store: await opened(t, db, options), db, reopen: (o = {}) => opened(t, db, o) };
    },
  },
  {
    name: 'postgres',
    async open(t, options = {}) {
      const db = await freshDatabase();
      return { store: await opened(t, db, options), db, reopen: (o = {}) => opened(t, db, o) };
    },
  },
];
