// The PostgreSQL store: placeholder until the implementation lands.
import { CodedError } from '../lib/errors.ts';
import type { OpenOptions, ReportStore } from './store.ts';

/** Opens the PostgreSQL store at `url`. */
export async function openPostgresStore(_url: string, _options: OpenOptions): Promise<ReportStore> {
  throw new CodedError('ERR_STORE_OPEN', 'PostgreSQL is not supported yet');
}
