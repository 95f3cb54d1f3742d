/**
 * The one place that decides what is retried: an `InputError` is bad input
 * (a malformed payload, a corrupt shard, an out-of-range neuron) and is never
 * retried; anything else thrown by I/O is assumed transient and retried with
 * backoff by the runner. Messages name the bad value.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** A key or file that does not exist; it names what was looked for. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly what: string, message?: string) {
    super(message ?? `not found: ${what}`);
  }
}

/** True for errors that retrying cannot fix. */
export function isPermanent(err: unknown): boolean {
  return err instanceof InputError || err instanceof NotFoundError;
}
