/**
 * Redis connection and queue naming, from the environment (README
 * "Configuration"):
 * - `REDIS_URL` (default `redis://127.0.0.1:6379`; `rediss://` for TLS);
 * - `NEUROX_QUEUE_PREFIX` (default `{neurox}`): BullMQ's key prefix. The
 *   braces are a Redis Cluster hash tag, so every key of every queue lands
 *   in one slot, which BullMQ's multi-key scripts need on a cluster.
 *
 * Workers use connections that retry forever (`maxRetriesPerRequest: null`,
 * as BullMQ requires) so a Redis restart only pauses them; producers use
 * connections that fail fast so a command line never hangs on a dead Redis.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { InputError } from '../../pipelines/errors.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE_PREFIX = '{neurox}';

export interface QueueConfig {
  readonly redisUrl: string;
  readonly prefix: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function queueConfigFromEnv(env: Env = process.env): QueueConfig {
  const redisUrl = env.REDIS_URL?.trim() || DEFAULT_REDIS_URL;
  if (!/^rediss?:\/\//.test(redisUrl)) throw new InputError(`REDIS_URL=${JSON.stringify(redisUrl)} is not a redis:// or rediss:// URL`);
  const prefix = env.NEUROX_QUEUE_PREFIX?.trim() || DEFAULT_QUEUE_PREFIX;
  if (prefix.includes(':')) throw new InputError(`NEUROX_QUEUE_PREFIX=${JSON.stringify(prefix)} must not contain ':' (BullMQ's key separator)`);
  return { redisUrl, prefix };
}

/** Reconnect delay: quick first retries, then at most 2 s (a restarted Redis is back within seconds). */
function retryStrategy(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 5), 2000);
}

/** A connection for workers and long-lived orchestration: waits out Redis outages. */
export function workerConnection(config: QueueConfig, extra: RedisOptions = {}): Redis {
  return new Redis(config.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy, ...extra });
}

/** A connection for producers and status queries: fails within seconds when Redis is unreachable. */
export function producerConnection(config: QueueConfig, extra: RedisOptions = {}): Redis {
  return new Redis(config.redisUrl, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    retryStrategy: (times) => (times > 3 ? null : retryStrategy(times)),
    ...extra,
  });
}

/**
 * For BullMQ objects on the producer side (a Queue for add/getJob, a
 * QueueEvents): a lost Redis is reported by the calls that fail. Without an
 * 'error' listener BullMQ prints every failed reconnect with its stack on
 * stderr (an EventEmitter 'error' with no listener throws, and BullMQ logs
 * what it throws), burying the command's one-line error.
 */
export function errorsThroughCalls<T extends { on(event: 'error', listener: (err: Error) => void): unknown }>(emitter: T): T {
  emitter.on('error', () => undefined);
  return emitter;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A producer's Redis network failure (refused, unknown host, timeout, or the
 * connection given up after its retries) as an error that names Redis and
 * REDIS_URL (password masked), for a one-line CLI message; any other error
 * is returned unchanged.
 */
export function redisError(err: unknown, config: QueueConfig): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const lost = err instanceof Error && /^(Connection is closed|Reached the max retries per request limit)/.test(err.message);
  if (!(typeof code === 'string' && NETWORK_CODES.has(code)) && !lost) return err;
  const url = config.redisUrl.replace(/\/\/[^@]*@/, '//***@');
  return new Error(`cannot reach Redis at ${url} (REDIS_URL): ${(err as Error).message}`, { cause: err });
}
