/**
 * Rebuilding the text a streamed durable run's model calls wrote, from its durable events (rows of
 * `timestep_stream_events`, as Python's `attach_stream` yields them). Twin of Python's
 * `timestep.durable.StreamText`; the algorithm is the contract in docs/dev/contracts.md ("Durable
 * stream events") and both languages run the shared vectors in tests/vectors/stream/.
 */

/** One event of the log: `type` and the fields the contract lists for it. */
export type StreamEvent = Record<string, unknown>;

/**
 * What one event did to the rebuilt text: `append` added `text` at the end; `retract` took back
 * `text`, written by `attempt` of model `step`, which a later attempt replaces (or which failed).
 */
export interface TextChange {
  kind: 'append' | 'retract';
  text: string;
  segment: string;
  step: number;
  attempt: number;
}

interface StepText {
  attempt: number;
  text: string;
  dropped: Set<number>;
}

const TEXT_DELTA = 'response.output_text.delta';

/** The text of a streamed run rebuilt from its durable events, one event at a time. */
export class StreamText {
  private readonly steps = new Map<string, StepText>();
  /** `[segment, step, attempt]` of every attempt that was taken back, in log order. */
  readonly abandoned: Array<[string, number, number]> = [];

  /** The text so far: every model step's latest attempt, in the order the steps started. */
  get text(): string {
    return [...this.steps.values()].map((step) => step.text).join('');
  }

  private drop(segment: string, index: number, step: StepText, attempt: number): TextChange | null {
    step.dropped.add(attempt);
    this.abandoned.push([segment, index, attempt]);
    if (step.attempt !== attempt) return null;
    const taken = step.text;
    step.text = '';
    return { kind: 'retract', text: taken, segment, step: index, attempt };
  }

  /** Apply one event of the log; return how the text changed (null: it did not). */
  add(event: StreamEvent): TextChange | null {
    const kind = event.type;
    if (kind !== 'attempt_started' && kind !== 'attempt_abandoned' && kind !== 'model_event') {
      return null;
    }
    const segment = String(event.segment ?? '');
    const index = Number(event.step ?? 0);
    const attempt = Number(event.attempt ?? 1); // logs written before attempts existed: one
    const key = JSON.stringify([segment, index]);
    let step = this.steps.get(key);
    if (step === undefined) {
      step = { attempt, text: '', dropped: new Set() };
      this.steps.set(key, step);
    }
    if (kind === 'attempt_abandoned') {
      return step.dropped.has(attempt) ? null : this.drop(segment, index, step, attempt);
    }
    if (step.dropped.has(attempt) || attempt < step.attempt) return null; // a replaced attempt
    let change: TextChange | null = null;
    if (attempt > step.attempt) {
      if (!step.dropped.has(step.attempt)) change = this.drop(segment, index, step, step.attempt);
      step.attempt = attempt;
      step.text = '';
    }
    if (kind === 'model_event') {
      const inner = (event.event ?? {}) as Record<string, unknown>;
      if (inner.type === TEXT_DELTA && typeof inner.delta === 'string' && inner.delta) {
        step.text += inner.delta;
        return { kind: 'append', text: inner.delta, segment, step: index, attempt };
      }
    }
    return change;
  }
}

/** The text a streamed run's model calls wrote, from its events (see {@link StreamText}). */
export function streamText(events: Iterable<StreamEvent>): string {
  const rebuilt = new StreamText();
  for (const event of events) rebuilt.add(event);
  return rebuilt.text;
}
