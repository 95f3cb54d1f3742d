/** mapInOrder (workers/stages/ordered.ts): parallel fetches, folded in order. */
import { describe, expect, it } from 'vitest';
import { mapInOrder } from '../workers/stages/ordered.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapInOrder', () => {
  it('consumes in input order with at most `width` fetches in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await mapInOrder(
      [30, 5, 20, 1, 10],
      2,
      async (ms, i) => {
        most = Math.max(most, ++inFlight);
        await sleep(ms);
        inFlight--;
        return i;
      },
      (r) => void seen.push(r),
    );
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('on a failure, lets the fetches still in flight finish before it rejects (they may be writing into memory the caller reuses)', async () => {
    let slowDone = false;
    const run = mapInOrder(
      ['fails', 'slow'],
      2,
      async (what) => {
        if (what === 'fails') throw new Error('read failed');
        await sleep(50);
        slowDone = true;
      },
      () => {},
    );
    await expect(run).rejects.toThrow('read failed');
    expect(slowDone).toBe(true);
  });
});
