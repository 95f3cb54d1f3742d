/**
 * A real headless Chromium for page tests, driven over the DevTools protocol
 * on a pipe (`--remote-debugging-pipe`: NUL-delimited JSON on fds 3 and 4),
 * so no browser-automation package is needed. Where Chromium is missing the
 * tests are skipped, except when NEUROX_TEST_REQUIRE_CHROMIUM=1, where a
 * missing Chromium is a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

function findChromium(): string | null {
  for (const c of [process.env.NEUROX_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (c && existsSync(c)) return c;
  }
  return null;
}

export const chromium: string | null = findChromium();

if (!chromium && process.env.NEUROX_TEST_REQUIRE_CHROMIUM === '1') {
  throw new Error('NEUROX_TEST_REQUIRE_CHROMIUM=1 but no chromium was found (apt install chromium, or set NEUROX_TEST_CHROMIUM)');
}

/** Whether the browser tests can run (use with `describe.skipIf(!hasChromium)`). */
export const hasChromium = chromium !== null;

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer = '';

  private constructor(private readonly child: ChildProcess, private readonly input: Writable, output: Readable, private readonly profile: string) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nul: number;
      while ((nul = this.buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, nul)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
        this.buffer = this.buffer.slice(nul + 1);
        const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id!);
        if (msg.error) p.reject(new Error(msg.error.message));
        else p.resolve(msg.result ?? {});
      }
    });
    child.once('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited with code ${code}`));
      this.pending.clear();
    });
  }

  static async launch(): Promise<Browser> {
    if (!chromium) throw new Error('chromium is not available');
    const profile = mkdtempSync(join(tmpdir(), 'neurox-chromium-'));
    const child = spawn(
      chromium,
      [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--window-size=1280,2000', `--user-data-dir=${profile}`, '--remote-debugging-pipe',
      ],
      { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
    );
    const browser = new Browser(child, child.stdio[3] as Writable, child.stdio[4] as Readable, profile);
    await browser.send('Browser.getVersion');
    return browser;
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  async newPage(): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    return new Page(this, sessionId);
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    await this.send('Browser.close').catch(() => undefined);
    await exited;
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(private readonly browser: Browser, private readonly session: string) {}

  async goto(url: string): Promise<void> {
    await this.browser.send('Page.navigate', { url }, this.session);
  }

  /** Evaluates an expression in the page (promises awaited); returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.browser.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.session)) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** Polls until `expression` is truthy; throws with the last value after `timeoutMs`. */
  async waitFor(expression: string, timeoutMs = 20_000): Promise<void> {
    const t0 = Date.now();
    let last: unknown;
    while (Date.now() - t0 < timeoutMs) {
      last = await this.evaluate<unknown>(expression).catch((e: unknown) => e);
      if (last === true) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`page: '${expression}' still not true after ${timeoutMs} ms (last: ${String(last)})`);
  }
}
