/**
 * Progress for long CLI commands, on stderr: a bar with rate and ETA on a
 * terminal (cli-progress), plain lines every few seconds otherwise (logs, CI,
 * pipes), so that output redirected to a file stays readable. Generic: any
 * count of any unit (sentences, shards, neurons).
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** What is counted, plural: 'sentences'. */
  readonly unit: string;
  /** Shown first, e.g. the command name. */
  readonly label: string;
  /** Expected count, when known (gives a percentage and an ETA). */
  readonly total?: number;
  /** Default process.stderr. */
  readonly stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Force the plain form (or the bar); default: the bar when the stream is a TTY. */
  readonly tty?: boolean;
  /** Plain form: at most one line per interval (ms); default 5000. */
  readonly intervalMs?: number;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

export interface Progress {
  /** Sets the count done so far. */
  update(done: number): void;
  /** Adds to the count. */
  increment(by?: number): void;
  /** Changes the label from now on (what is shown became known mid-way, e.g. a number of passes). */
  relabel(label: string): void;
  /** Ends the display (prints the final plain line). */
  stop(): void;
}

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate.toFixed(1);
}

/** One status line: `extract: 1200/2000 sentences (60%), 450 sentences/s, ETA 2s`. */
export function progressLine(label: string, unit: string, done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const parts = [`${label}: ${done}${total !== undefined ? `/${total}` : ''} ${unit}`];
  if (total !== undefined && total > 0) parts[0] += ` (${Math.floor((100 * done) / total)}%)`;
  parts.push(`${formatRate(rate)} ${unit}/s`);
  if (total !== undefined && rate > 0 && done < total) parts.push(`ETA ${formatDuration((total - done) / rate)}`);
  if (total === undefined || done >= total) parts.push(`elapsed ${formatDuration(elapsedMs / 1000)}`);
  return parts.join(', ');
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const tty = options.tty ?? Boolean((stream as NodeJS.WriteStream).isTTY);
  const { unit, total } = options;
  let label = options.label;
  const start = now();
  let done = 0;

  // one display per form: `show` after every change, `end` once
  let show: () => void;
  let end: () => void;
  if (tty) {
    const format =
      total !== undefined
        ? `{label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`
        : `{label} {value} ${unit} | {rate} ${unit}/s | {duration_formatted}`;
    const bar = new cliProgress.SingleBar({ format, stream: stream as NodeJS.WriteStream, hideCursor: true, etaBuffer: 50, fps: 5 }, cliProgress.Presets.shades_classic);
    bar.start(total ?? 0, 0, { rate: '0', label });
    show = () => bar.update(done, { rate: formatRate((done * 1000) / Math.max(1, now() - start)), label });
    end = () => {
      show();
      bar.stop();
    };
  } else {
    const interval = options.intervalMs ?? 5000;
    let last = start;
    const print = () => stream.write(`${progressLine(label, unit, done, total, now() - start)}\n`);
    show = () => {
      const t = now();
      if (t - last >= interval) {
        last = t;
        print();
      }
    };
    end = print;
  }
  let stopped = false;
  return {
    update: (n) => {
      done = n;
      show();
    },
    increment: (by = 1) => {
      done += by;
      show();
    },
    relabel: (l) => {
      label = l;
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      end();
    },
  };
}
