/** The pending end-of-segment saves of streamed durable results (no DBOS import: run.ts uses it). */
const streamedSaves = new WeakMap<object, Promise<void>>();

/** Remember that `result`'s segment is saved once `saved` resolves. */
export function trackSave(result: object, saved: Promise<void>): void {
  streamedSaves.set(result, saved);
}

/** The save of a streamed durable result (consumeResult waits for it). */
export function savedOf(result: object): Promise<void> | undefined {
  return streamedSaves.get(result);
}
