/**
 * A test hook for the kill tests: `NEUROX_TEST_PAUSE=<stage>@<n>:<ms>[,...]`
 * makes a sandboxed stage job sleep `ms` after its n-th object write, so a
 * test can SIGKILL the worker between two writes of one job (the riskiest
 * moment for a reducer). Unset in production, where it costs nothing.
 */
import type { ObjectStore } from '../../pipelines/ports.ts';

interface Pause {
  readonly stage: string;
  readonly afterPut: number;
  readonly ms: number;
}

export function parsePauses(value: string | undefined): Pause[] {
  if (!value) return [];
  return value.split(',').map((part) => {
    const m = /^([a-z-]+)@(\d+):(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`NEUROX_TEST_PAUSE: '${part}' is not <stage>@<n>:<ms>`);
    return { stage: m[1]!, afterPut: Number(m[2]), ms: Number(m[3]) };
  });
}

/** The store, pausing after the n-th put or putStream when `stage` has a pause. */
export function pausingStore(store: ObjectStore, stage: string, pauses: readonly Pause[], onPause: (n: number) => void): ObjectStore {
  const mine = pauses.filter((p) => p.stage === stage);
  if (mine.length === 0) return store;
  let puts = 0;
  const after = async (): Promise<void> => {
    puts++;
    const p = mine.find((x) => x.afterPut === puts);
    if (p) {
      onPause(puts);
      await new Promise((r) => setTimeout(r, p.ms));
    }
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
