/** One-line error messages for the CLI (the stack only with NEUROX_DEBUG=1). */
export function formatError(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message.split('\n')[0] ?? err.message;
    return msg.length > 0 ? msg : err.name;
  }
  return String(err);
}

/** Parses a CLI number option, naming the option and the bad value on failure. */
export function parseNumber(option: string, value: string, { integer = false, min }: { integer?: boolean; min?: number } = {}): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new Error(`${option}: expected ${integer ? 'an integer' : 'a number'}, got '${value}'`);
  }
  if (min !== undefined && n < min) throw new Error(`${option}: must be >= ${min}, got ${value}`);
  return n;
}
