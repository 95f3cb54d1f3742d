/**
 * A test hook for the kill and retry tests: `NEUROX_TEST_PAUSE=<stage>@<n>:<ms>[,...]`
 * makes a sandboxed stage job sleep `ms` after its n-th object write, so a
 * test can SIGKILL the worker between two writes of one job (the riskiest
 * moment for a reducer); `<stage>@<n>:fail` throws a transient error there
 * on the job's first attempt only (as a dropped S3 connection would). Unset
 * in production, where it costs nothing.
 */
import type { ObjectStore } from '../../pipelines/ports.ts';

interface Pause {
  readonly stage: string;
  readonly afterPut: number;
  /** Sleep this long, or 'fail' on the first attempt. */
  readonly ms: number | 'fail';
}

export function parsePauses(value: string | undefined): Pause[] {
  if (!value) return [];
  return value.split(',').map((part) => {
    const m = /^([a-z-]+)@(\d+):(\d+|fail)$/.exec(part.trim());
    if (!m) throw new Error(`NEUROX_TEST_PAUSE: '${part}' is not <stage>@<n>:<ms> or <stage>@<n>:fail`);
    return { stage: m[1]!, afterPut: Number(m[2]), ms: m[3] === 'fail' ? 'fail' : Number(m[3]) };
  });
}

/** The store, pausing after the n-th put or putStream when `stage` has a pause. */
export function pausingStore(store: ObjectStore, stage: string, pauses: readonly Pause[], onPause: (n: number) => void, attempt = 0): ObjectStore {
  const mine = pauses.filter((p) => p.stage === stage);
  if (mine.length === 0) return store;
  let puts = 0;
  const after = async (): Promise<void> => {
    puts++;
    const p = mine.find((x) => x.afterPut === puts);
    if (!p) return;
    if (p.ms === 'fail') {
      if (attempt === 0) throw new Error(`test: transient failure after write ${puts} (NEUROX_TEST_PAUSE)`);
      return;
    }
    onPause(puts);
    await new Promise((r) => setTimeout(r, p.ms as number));
  };
  return Object.assign(Object.create(store) as ObjectStore, {
    location: store.location,
    put: async (...args: Parameters<ObjectStore['put']>) => {
      await store.put(...args);
      await after();
    },
    putStream: async (...args: Parameters<ObjectStore['putStream']>) => {
      await store.putStream(...args);
      await after();
    },
  });
}
