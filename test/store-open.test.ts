/** openStore: which store a URL names, and how the environment configures S3. */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../pipelines/errors.ts';
import { LocalStore, MemoryStore, openStore, S3Store, s3ConfigFromEnv } from '../workers/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'neurox-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore', () => {
  it('opens s3://bucket/prefix as an S3 store rooted at the prefix', () => {
    const s = openStore('s3://my-bucket/runs/2024/', { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    expect(s).toBeInstanceOf(S3Store);
    expect(s.location).toBe('s3://my-bucket/runs/2024/');
    expect((s as S3Store).prefix).toBe('runs/2024');
    expect(openStore('s3://my-bucket', {}).location).toBe('s3://my-bucket/');
    (s as S3Store).close();
  });

  it('loads the AWS SDK only when an S3 store makes its first request (the stage modules and a local run never load it)', () => {
    // a resolve hook that fails any import of the SDK, registered after tsx
    const hook = 'export async function resolve(s, c, next) { if (s.startsWith("@aws-sdk/")) throw new Error("SDK loaded: " + s); return next(s, c); }';
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const run = (script: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8', env: { ...process.env, S3_ENDPOINT: 'http://127.0.0.1:9', S3_MAX_ATTEMPTS: '1' } });
    const local = run(`
      await import('./workers/stages/index.ts');
      await import('./workers/runner/embedded.ts');
      const { openStore } = await import('./workers/store/index.ts');
      const s = openStore(${JSON.stringify(join(dir, 'lazy'))});
      await s.put('k', 'v');
      const s3 = openStore('s3://some-bucket/x');
      console.log(new TextDecoder().decode(await s.get('k')), s3.location);`);
    expect(local.stderr).not.toContain('SDK loaded');
    expect(local.stdout.trim()).toBe('v s3://some-bucket/x/');
    // the hook does catch the SDK: the first request loads it
    const s3 = run(`const { openStore } = await import('./workers/store/index.ts'); await openStore('s3://some-bucket/x').head('k');`);
    expect(s3.status).not.toBe(0);
    expect(s3.stderr).toContain('SDK loaded: @aws-sdk/client-s3');
  });

  it('opens file:// URLs and plain paths as local folders, relative paths from the working directory', () => {
    expect(openStore(`file://${dir}/out`)).toBeInstanceOf(LocalStore);
    expect((openStore('neurox-out/run') as LocalStore).root).toBe(resolve('neurox-out/run'));
    expect(openStore(join(dir, 'x')).location).toBe(`file://${dir}/x/`);
  });

  it('opens memory://name as the one process-wide store of that name', async () => {
    const a = openStore('memory://shared-open-test');
    expect(a).toBeInstanceOf(MemoryStore);
    await a.put('k', 'v');
    expect(await openStore('memory://shared-open-test/').head('k')).toMatchObject({ size: 1 });
    expect(await openStore('memory://other-open-test').head('k')).toBeNull();
  });

  it('refuses unsupported schemes, bad bucket names and bad prefixes with InputError naming them', () => {
    expect(() => openStore('gs://bucket/x')).toThrow(/"gs:\/\/bucket\/x" has unsupported scheme "gs:"/);
    expect(() => openStore('s3://Bad_Bucket/x', {})).toThrow(/bucket name "Bad_Bucket"/);
    expect(() => openStore('s3:///x', {})).toThrow(InputError);
    expect(() => openStore('s3://bucket/a/../b', {})).toThrow(/"a\/..\/b" has a ".." segment/);
    expect(() => openStore('file://remote-host/x')).toThrow(InputError);
    expect(() => openStore('memory://a/b')).toThrow(InputError);
    expect(() => openStore('')).toThrow(InputError);
  });
});

describe('S3 configuration from the environment', () => {
  it('defaults to us-east-1, virtual-hosted style and 5 attempts with no endpoint', () => {
    const c = s3ConfigFromEnv({});
    expect(c).toMatchObject({ region: 'us-east-1', forcePathStyle: false, maxAttempts: 5, retryMode: 'standard' });
    expect(c.endpoint).toBeUndefined();
    expect(c.credentials).toBeUndefined(); // the SDK's standard chain
  });

  it('uses S3_ENDPOINT (else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL) with path-style URLs unless told otherwise', () => {
    expect(s3ConfigFromEnv({ S3_ENDPOINT: 'http://minio:9000', AWS_ENDPOINT_URL: 'http://other' })).toMatchObject({ endpoint: 'http://minio:9000', forcePathStyle: true });
    expect(s3ConfigFromEnv({ AWS_ENDPOINT_URL: 'https://s3.example' })).toMatchObject({ endpoint: 'https://s3.example' });
    expect(s3ConfigFromEnv({ AWS_ENDPOINT_URL: 'https://s3.example', S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(s3ConfigFromEnv({ S3_FORCE_PATH_STYLE: '1' }).forcePathStyle).toBe(true);
  });

  it('takes the region, attempts and static credentials given', () => {
    const c = s3ConfigFromEnv({ AWS_REGION: 'eu-west-3', S3_MAX_ATTEMPTS: '2', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'sec', AWS_SESSION_TOKEN: 'tok' });
    expect(c).toMatchObject({ region: 'eu-west-3', maxAttempts: 2, credentials: { accessKeyId: 'id', secretAccessKey: 'sec', sessionToken: 'tok' } });
  });

  it('refuses malformed values, naming the variable', () => {
    expect(() => s3ConfigFromEnv({ S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(/S3_FORCE_PATH_STYLE="maybe"/);
    expect(() => s3ConfigFromEnv({ S3_MAX_ATTEMPTS: '0' })).toThrow(/S3_MAX_ATTEMPTS="0"/);
    expect(() => s3ConfigFromEnv({ S3_ENDPOINT: 'minio:9000' })).toThrow(/"minio:9000" is not an http\(s\) URL/);
    expect(() => openStore('s3://bucket', { S3_PART_SIZE_MB: '4' })).toThrow(/S3_PART_SIZE_MB="4"/);
    expect(() => openStore('s3://bucket', { S3_UPLOAD_QUEUE: 'x' })).toThrow(/S3_UPLOAD_QUEUE/);
  });
});
