/**
 * S3 test fixtures against the moto_server the global setup starts: dummy
 * credentials (moto accepts any) and one fresh bucket per caller.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { s3ConfigFromEnv } from '../../workers/store/index.ts';

export function s3TestEnv(): Record<string, string> {
  return {
    S3_ENDPOINT: inject('s3Endpoint'),
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
  };
}

/** Creates a bucket with a unique name starting with `stem` and returns its name. */
export async function freshBucket(stem: string): Promise<string> {
  const bucket = `${stem}-${randomBytes(4).toString('hex')}`;
  const client = new S3Client(s3ConfigFromEnv(s3TestEnv()));
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}
