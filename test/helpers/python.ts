/**
 * Independent readers (pyarrow, duckdb, h5py) as cross-checks. They live in
 * `.venv/bin/python` (created by .ci/run from the local package mirror).
 * Where that Python is missing the checks are skipped, except when
 * NEUROX_TEST_REQUIRE_PYTHON=1 (CI), where a missing Python is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

function findPython(): string | null {
  const candidates = [process.env.NEUROX_TEST_PYTHON, join(root, '.venv', 'bin', 'python')];
  for (const c of candidates) {
    if (c && existsSync(c)) {
      const r = spawnSync(c, ['-c', 'import pyarrow, duckdb, h5py, numpy'], { stdio: 'ignore' });
      if (r.status === 0) return c;
    }
  }
  return null;
}

export const python: string | null = findPython();

if (!python && process.env.NEUROX_TEST_REQUIRE_PYTHON === '1') {
  throw new Error('NEUROX_TEST_REQUIRE_PYTHON=1 but .venv/bin/python with pyarrow, duckdb, h5py, numpy is missing');
}

/** Whether the Python cross-checks can run (use with `it.skipIf(!hasPython)`). */
export const hasPython = python !== null;

/** Runs a Python snippet with arguments; returns its stdout. Throws with stderr on failure. */
export function runPython(code: string, args: readonly string[] = []): string {
  if (!python) throw new Error('python with pyarrow/duckdb/h5py is not available');
  return execFileSync(python, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}
