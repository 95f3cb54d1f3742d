import { UnrecoverableError } from 'bullmq';
import { isPermanent } from '../../pipelines/errors.ts';

/**
 * The retry decision, in BullMQ's terms: bad input (InputError,
 * NotFoundError) becomes UnrecoverableError, failed at once with its
 * message; anything else is rethrown and retried with backoff.
 */
export function asBullError(err: unknown): unknown {
  return isPermanent(err) ? new UnrecoverableError((err as Error).message) : err;
}
