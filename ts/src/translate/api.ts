/** Entry points of the translation: language detection, whole states and item lists. */
import { ConfigurationError, CorruptStateError, TranslationError, UnsupportedSchemaVersionError } from '../errors.js';
import { JS, JS_SCHEMA, type Json, type Language, PY, PYTHON_SCHEMA, isObj } from './common.js';
import { rawToJs, rawToPy } from './items.js';
import { ToJs } from './toJs.js';
import { ToPy } from './toPy.js';

export const PY_MARKERS = ['current_turn', 'current_agent', 'model_responses', 'generated_items'];
export const JS_MARKERS = ['currentTurn', 'currentAgent', 'modelResponses', 'generatedItems'];

export const SUPPORTED_PYTHON_SCHEMAS = [PYTHON_SCHEMA];
export const SUPPORTED_JS_SCHEMAS = [JS_SCHEMA];

/** Which SDK wrote a RunState JSON document. */
export function detectLanguage(state: unknown): Language {
  if (!isObj(state) || !('$schemaVersion' in state)) {
    throw new CorruptStateError("not a RunState document: no '$schemaVersion' field");
  }
  const python = PY_MARKERS.filter((key) => key in state).length;
  const typescript = JS_MARKERS.filter((key) => key in state).length;
  if (python > 0 && typescript === 0) return 'python';
  if (typescript > 0 && python === 0) return 'typescript';
  throw new CorruptStateError(
    `cannot tell which SDK wrote this RunState (it has ${python} Python-style and ` +
      `${typescript} TypeScript-style top-level fields)`,
  );
}

export function guard(fn: () => Json, where: string): Json {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TranslationError) throw error;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CorruptStateError(`malformed ${where} RunState: ${message}`);
  }
}

/** Translate a Python RunState JSON into the JS SDK's format (a JS state is returned as is). */
export function toTypeScript(state: Json): Json {
  if (detectLanguage(state) === 'typescript') return { ...state };
  if (state.$schemaVersion !== PYTHON_SCHEMA) {
    throw new UnsupportedSchemaVersionError(state.$schemaVersion, 'python', SUPPORTED_PYTHON_SCHEMAS);
  }
  return guard(() => new ToJs(state).run(), PY);
}

/** Translate a JS RunState JSON into the Python SDK's format (a Python state is returned as is). */
export function toPython(state: Json): Json {
  if (detectLanguage(state) === 'python') return { ...state };
  if (state.$schemaVersion !== JS_SCHEMA) {
    throw new UnsupportedSchemaVersionError(state.$schemaVersion, 'typescript', SUPPORTED_JS_SCHEMAS);
  }
  return guard(() => new ToPy(state).run(), JS);
}

/** Translate conversation items (e.g. a session's history) from Python to JS format. A
 * `function_call_output` gets its tool name from the matching `function_call` in `items`. */
export function itemsToTypeScript(items: unknown[]): Json[] {
  const names = new Map<string, string>();
  return items.map((raw) => {
    if (isObj(raw) && raw.type === 'function_call') {
      if (typeof raw.call_id === 'string' && typeof raw.name === 'string' && !names.has(raw.call_id)) {
        names.set(raw.call_id, raw.name);
      }
    }
    return guard(() => rawToJs(raw, names), PY);
  });
}

/** Translate conversation items (e.g. a session's history) from JS to Python format. */
export function itemsToPython(items: unknown[]): Json[] {
  return items.map((raw) => guard(() => rawToPy(raw), JS));
}

/** Translate a RunState JSON into `language`'s format (`timestep export --lang`). */
export function toLanguage(state: Json, language: Language): Json {
  if (language === 'python') return toPython(state);
  if (language === 'typescript') return toTypeScript(state);
  throw new ConfigurationError(
    `unknown language '${String(language)}'; expected 'python' or 'typescript'`,
  );
}
