/** The store a call was given, or the default one (Python's `durable._runtime.given_store`). */

import { ConfigurationError } from '../errors.js';
import { RunStateStore } from './store.js';

/** `store`, or `new RunStateStore()` when undefined; anything else is a `ConfigurationError`. */
export function givenStore(store: unknown): RunStateStore {
  if (store === undefined) return new RunStateStore();
  if (store instanceof RunStateStore) return store;
  const kind =
    store === null
      ? 'null'
      : typeof store === 'object'
        ? (store.constructor?.name ?? 'object')
        : typeof store;
  throw new ConfigurationError(
    typeof store === 'string'
      ? `store must be a RunStateStore (e.g. new RunStateStore(${JSON.stringify(store)})), not string`
      : `store must be a RunStateStore, not ${kind}`,
  );
}
