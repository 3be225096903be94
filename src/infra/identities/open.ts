// Opens the identity dictionary the configuration asks for: the embedded one
// in the data folder (the default), or the shared one in PostgreSQL (the
// default when the metadata is in PostgreSQL, so that every worker shares it).
import { join } from 'node:path';
import type { Config } from '../../config.js';
import type { Db } from '../db/index.js';
import type { IdentityDictionary } from './dictionary.js';
import { DictionaryStore } from './store.js';

export function dictionaryStoreOf(config: Pick<Config, 'database' | 'identities'>): 'embedded' | 'postgres' {
  return config.identities.store ?? (config.database.url ? 'postgres' : 'embedded');
}

export async function openDictionary(config: Pick<Config, 'dataDir' | 'database' | 'identities'>, db: Db): Promise<IdentityDictionary> {
  if (dictionaryStoreOf(config) === 'postgres') {
    const { PgDictionary } = await import('./pg-dictionary.js');
    return new PgDictionary(db);
  }
  return DictionaryStore.open(join(config.dataDir, 'identities'));
}
