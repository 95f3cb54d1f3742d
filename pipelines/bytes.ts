/** Byte-array helpers shared by the pure code and the store adapters. */

/** Concatenates chunks into one array (one copy); pass `total` when the sum of their lengths is known. */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
