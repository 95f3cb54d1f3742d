/**
 * Streaming line reader for NeuroX's text inputs (the tokens file, JSON
 * Lines activations). Lines end at `\n` (a `\r` before it is dropped, as
 * Python's universal newlines do); a last line without `\n` still counts;
 * nothing else is trimmed, so tokens keep their exact code points.
 */
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';

export interface Line {
  /** 0-based line number. */
  readonly index: number;
  readonly text: string;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

function decoder(): TextDecoder {
  // fatal: a tokens file that is not UTF-8 is an error, not mojibake;
  // ignoreBOM: keep a BOM as a character, as Python's 'utf-8' codec does
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
}

function openStream(path: string, what: string): AsyncIterable<Buffer> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  return (async function* () {
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new NotFoundError(path, `${what} not found: ${path}`);
      if (code === 'EISDIR') throw new InputError(`${what} is a directory: ${path}`);
      throw err;
    } finally {
      stream.destroy();
    }
  })();
}

/** Raw lines (bytes, without the line ending) of a file, streamed. */
export async function* byteLines(path: string, what = 'file'): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let pending = false;
  for await (const chunk of openStream(path, what)) {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const line = parts.length === 0 ? piece : Buffer.concat([...parts, piece]);
      parts = [];
      pending = false;
      yield line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
      start = nl + 1;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      pending = true;
    }
  }
  if (pending) {
    const line = Buffer.concat(parts);
    yield line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
  }
}

/** Decoded lines of a UTF-8 text file, streamed; invalid UTF-8 names the line. */
export async function* textLines(path: string, what = 'file'): AsyncGenerator<Line> {
  const utf8 = decoder();
  let index = 0;
  for await (const bytes of byteLines(path, what)) {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new InputError(`${path} line ${index + 1}: not valid UTF-8`);
    }
    yield { index, text };
    index++;
  }
}

/** NeuroX's tokens of one line: `line.split(' ')`, exactly (an empty line is one empty token). */
export function tokensOfLine(text: string): string[] {
  return text.split(' ');
}

/** Number of lines, counted without decoding (for early size checks). */
export async function countLines(path: string, what = 'file'): Promise<number> {
  let n = 0;
  let pending = false;
  for await (const chunk of openStream(path, what)) {
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, nl + 1)) n++;
    pending = chunk[chunk.length - 1] !== NEWLINE;
  }
  return pending ? n + 1 : n;
}
