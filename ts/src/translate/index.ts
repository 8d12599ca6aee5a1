/**
 * RunState translation between openai-agents (Python, schema 1.21) and @openai/agents
 * (JS, schema 1.22): the TypeScript twin of Python's `timestep.state.translate`. Both are checked
 * against the same vectors in tests/vectors/ and must produce identical documents.
 *
 * Both directions rebuild the ledgers each SDK checks before honouring an approval: Python's
 * `context.tool_invocations` (SHA-256 hashes) and JS's `approvalInvocations` /
 * `completedToolInvocations` (canonical fingerprints). Unsupported features throw
 * `UnsupportedStateFeatureError` naming the feature and the versions; never a silently wrong state.
 *
 * Layout: `api` (entry points), `toJs` / `toPy` (one module per direction of the 1.21 <-> 1.22
 * pair), `items` (version-independent item and usage converters), `jsIdentity` / `pyIdentity`
 * (each SDK's approval ledger fingerprints), `common` (types and helpers).
 */
export {
  detectLanguage,
  itemsToPython,
  itemsToTypeScript,
  SUPPORTED_JS_SCHEMAS,
  SUPPORTED_PYTHON_SCHEMAS,
  toLanguage,
  toPython,
  toTypeScript,
} from './api.js';
export { JS_SCHEMA, PYTHON_SCHEMA, stableStringify, type Json, type Language } from './common.js';
export { bareStateKey, functionCallFingerprint } from './jsIdentity.js';
export { pythonFingerprint, pythonScope } from './pyIdentity.js';
