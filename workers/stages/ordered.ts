/**
 * Fetch in parallel, fold in order: reducers read many small objects (S3
 * latency dominates) but must merge them in plan order for identical bytes.
 * At most `width` fetches are in flight; results are consumed strictly in
 * input order, one at a time.
 */
export async function mapInOrder<T, R>(
  items: readonly T[],
  width: number,
  fetch: (item: T, index: number) => Promise<R>,
  consume: (result: R, item: T, index: number) => void | Promise<void>,
): Promise<void> {
  const inflight: Array<Promise<R>> = [];
  let next = 0;
  const launch = (): void => {
    while (next < items.length && inflight.length < width) {
      const i = next++;
      const p = fetch(items[i]!, i);
      p.catch(() => {}); // observed below, in order; avoid an unhandled rejection meanwhile
      inflight.push(p);
    }
  };
  launch();
  try {
    for (let i = 0; i < items.length; i++) {
      const r = await inflight.shift()!;
      launch();
      await consume(r, items[i]!, i);
    }
  } catch (err) {
    // fetches still in flight may be writing into the caller's memory: settle them before it is reused
    await Promise.allSettled(inflight);
    throw err;
  }
}
