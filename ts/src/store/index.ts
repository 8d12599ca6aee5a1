/**
 * The store: the same rows as timestep's Python `timestep.state` (docs/dev/contracts.md), behind
 * one URL-style target: a JSON file, `sqlite:///path.db` (better-sqlite3) or `postgresql://...`
 * (pg). States are stored in the writing SDK's own format with `language = 'typescript'`; rows
 * written by Python are translated on load.
 */
export { isFinished, parseStateText, stateFacts, type StateFacts } from './describe.js';
export { defaultUrl, displayUrl, isSqlUrl, openSql, type Row, type Sql } from './engine.js';
export {
  jsSdkVersion,
  RUN_STATUSES,
  utcNow,
  type Backend,
  type PendingApproval,
  type RunStatus,
  type RunSummary,
  type StoredState,
} from './records.js';
export { ensureSchema, KNOWN_REVISIONS } from './schema.js';
export { type RunFilter } from './filters.js';
export {
  inheritStoredVersion,
  originOf,
  RunStateStore,
  type RunStateStoreOptions,
  type Saveable,
  type SaveOptions,
} from './store.js';
export {
  undecided,
  type DecisionKind,
  type DecisionOutcome,
  type DecisionRecord,
} from './decisions.js';
