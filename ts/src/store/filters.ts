/** Which runs `listRuns` / `countRuns` cover: checked once, applied by each backend. */
import { ConfigurationError } from '../errors.js';
import { checkStatus, type RunStatus } from './records.js';

/** Filters of a run list or count (all given ones apply), as Python's `list_runs` takes them. */
export interface RunFilter {
  status?: RunStatus;
  /** Exactly this `agent_name`. */
  agent?: string;
  /** Updated at or after this moment (an ISO-8601 date or time, or a Date). */
  updatedSince?: string | Date;
  /** Run ids containing this text, ignoring case (`%` and `_` match themselves). */
  search?: string;
}

/** A checked RunFilter: `updatedSince` as the store's timestamp text (compared as text). */
export interface CheckedRunFilter extends Omit<RunFilter, 'updatedSince'> {
  updatedSince?: string;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const shown = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

function badMoment(value: unknown): ConfigurationError {
  return new ConfigurationError(`updatedSince must be an ISO-8601 date or time, got ${shown(value)}`);
}

/**
 * `value` as the store writes `updated_at`: `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC. A date alone is
 * midnight UTC, a time without a zone is UTC; a fraction keeps up to 6 digits. Stricter than
 * `Date.parse` (as Python's `fromisoformat`): no February 30th, no hour 24.
 */
export function storeTimestamp(value: unknown): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw badMoment(value);
    return `${value.toISOString().slice(0, 23)}000Z`;
  }
  if (typeof value !== 'string') throw badMoment(value);
  const match = ISO.exec(value);
  if (!match) throw badMoment(value);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [
    number, number, number, number, number, number,
  ];
  const moment = new Date(0);
  moment.setUTCFullYear(year, month - 1, day);
  moment.setUTCHours(hour, minute, second, 0);
  const exact =
    year >= 1 &&
    moment.getUTCFullYear() === year &&
    moment.getUTCMonth() === month - 1 &&
    moment.getUTCDate() === day &&
    moment.getUTCHours() === hour &&
    moment.getUTCMinutes() === minute &&
    moment.getUTCSeconds() === second;
  const zone = match[8];
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.replace(':', '');
    const [hours, minutes] = [Number(digits.slice(1, 3)), Number(digits.slice(3, 5))];
    if (hours > 23 || minutes > 59) throw badMoment(value);
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  if (!exact) throw badMoment(value);
  const utc = new Date(moment.getTime() - offsetMinutes * 60_000);
  const fraction = (match[7] ?? '').padEnd(6, '0').slice(0, 6);
  return `${utc.toISOString().slice(0, 19)}.${fraction}Z`;
}

function nonEmpty(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new ConfigurationError(`${name} must be a non-empty string, got ${shown(value)}`);
  }
  return value;
}

/** The filter checked (`ConfigurationError` naming a bad value), without its absent keys. */
export function checkFilter(filter: RunFilter): CheckedRunFilter {
  const checked: CheckedRunFilter = {};
  if (filter.status !== undefined) {
    checkStatus(filter.status);
    checked.status = filter.status;
  }
  const agent = nonEmpty('agent', filter.agent);
  if (agent !== undefined) checked.agent = agent;
  if (filter.updatedSince !== undefined) checked.updatedSince = storeTimestamp(filter.updatedSince);
  const search = nonEmpty('search', filter.search);
  if (search !== undefined) checked.search = search;
  return checked;
}

/** A LIKE pattern matching `text` anywhere, `%`, `_` and `\` escaped with `\`. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
