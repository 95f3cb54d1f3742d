import { describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';

describe('test services', () => {
  it('runs a private redis-server, not the shared one at 6379', async () => {
    const url = inject('redisUrl');
    expect(url).toMatch(/^redis:\/\//);
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      await redis.set('neurox-test:ping', 'pong');
      expect(await redis.get('neurox-test:ping')).toBe('pong');
      await redis.del('neurox-test:ping');
    } finally {
      redis.disconnect();
    }
  });
  it('runs an S3 server', async () => {
    const res = await fetch(`${inject('s3Endpoint')}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('ListAllMyBucketsResult');
  });
});
