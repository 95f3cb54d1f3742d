/**
 * Opens an object store from a URL:
 * - `s3://bucket/prefix` (S3 or S3-compatible; configured from the environment),
 * - `file:///abs/dir` or a plain path (relative to the working directory),
 * - `memory://name` (process-wide, by name).
 */
import { fileURLToPath } from 'node:url';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { InputError } from '../../pipelines/errors.ts';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { LocalStore } from './local.ts';
import { MemoryStore } from './memory.ts';
import { MIN_PART_SIZE, S3Store } from './s3.ts';

export { LocalStore } from './local.ts';
export { MemoryStore } from './memory.ts';
export { S3Store, type S3StoreOptions, checkBucket } from './s3.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** The lower-cased scheme of `scheme://...`, or undefined for a plain path. */
export function urlScheme(url: string): string | undefined {
  return /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
}

function flag(env: Env, name: string): boolean | undefined {
  const v = env[name]?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new InputError(`${name}=${JSON.stringify(env[name])} is not a boolean (use true or false)`);
}

function integer(env: Env, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = env[name]?.trim();
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(`${name}=${JSON.stringify(v)} is not an integer in [${min}, ${max}]`);
  return n;
}

/**
 * S3 client settings from the environment (documented in README
 * "Configuration"). Credentials: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
 * (+ `AWS_SESSION_TOKEN`) when `env` has them, else the SDK's standard chain
 * (profiles, SSO, web identity, container and instance metadata).
 */
export function s3ConfigFromEnv(env: Env = process.env): S3ClientConfig {
  const endpoint = env.S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new InputError(`S3 endpoint ${JSON.stringify(endpoint)} is not an http(s) URL`);
  }
  // Custom endpoints are nearly always MinIO-like servers that need path-style URLs.
  const forcePathStyle = flag(env, 'S3_FORCE_PATH_STYLE') ?? endpoint !== undefined;
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle,
    retryMode: 'standard',
    maxAttempts: integer(env, 'S3_MAX_ATTEMPTS', 1, 20) ?? 5,
    // Without these a stalled server hangs a worker forever (the SDK's defaults are "no timeout");
    // a timeout is a transient error, so it is retried like a 503.
    requestHandler: {
      connectionTimeout: integer(env, 'S3_CONNECT_TIMEOUT_MS', 1) ?? 10_000,
      socketTimeout: integer(env, 'S3_SOCKET_TIMEOUT_MS', 1) ?? 120_000,
    },
    ...(endpoint ? { endpoint } : {}),
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {}),
  };
}

export function openStore(url: string, env: Env = process.env): ObjectStore {
  if (typeof url !== 'string' || url.trim() === '') throw new InputError('store URL is empty');
  const scheme = urlScheme(url);
  if (scheme === undefined) return new LocalStore(url);
  if (scheme === 'file') {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new InputError(`store URL ${JSON.stringify(url)} is not a local file URL: ${(err as Error).message}`);
    }
    return new LocalStore(path);
  }
  if (scheme === 'memory') {
    const name = url.slice('memory://'.length).replace(/\/+$/, '');
    if (!/^[\w.-]+$/.test(name)) throw new InputError(`store URL ${JSON.stringify(url)}: memory store name must be letters, digits, _ . -`);
    return MemoryStore.named(name);
  }
  if (scheme === 's3') {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    const partMiB = integer(env, 'S3_PART_SIZE_MB', MIN_PART_SIZE / (1024 * 1024), 5 * 1024);
    const queueSize = integer(env, 'S3_UPLOAD_QUEUE', 1, 64);
    return new S3Store({
      bucket,
      prefix,
      config: s3ConfigFromEnv(env),
      ...(partMiB ? { partSize: partMiB * 1024 * 1024 } : {}),
      ...(queueSize ? { queueSize } : {}),
    });
  }
  throw new InputError(`store URL ${JSON.stringify(url)} has unsupported scheme "${scheme}:" (use s3://bucket/prefix, file:///abs/dir, a path, or memory://name)`);
}
