/**
 * Checks a schedule's timing before it reaches Redis, so a bad cron is refused
 * with the reason instead of a scheduler that never fires. The parser is
 * BullMQ's own (`getNextMillis`, cron-parser inside), so what passes here is
 * what the scheduler runs; on top of it, the field count is checked, because
 * cron-parser quietly fills missing fields (`* * *` would mean every minute).
 */
import { getNextMillis } from 'bullmq';
import { InputError } from '../../pipelines/errors.ts';
import { SCHEDULE_NAME } from '../../schemas/schedule.ts';

const ALIASES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@weekdays', '@weekends']);

/** The timing of a schedule: a cron pattern (optionally in a time zone) or a fixed interval. */
export type Repeat = { readonly cron: string; readonly tz?: string | undefined } | { readonly everyMs: number };

/** Returns the pattern trimmed, or throws InputError naming it and the reason. */
export function checkCron(pattern: string, tz?: string, now = Date.now()): string {
  const p = pattern.trim();
  const bad = (why: string): InputError => new InputError(`cron "${pattern}" is invalid: ${why}`);
  if (p === '') throw bad('it is empty');
  if (p.startsWith('@')) {
    if (!ALIASES.has(p.toLowerCase())) throw bad(`unknown alias ${p} (use one of ${[...ALIASES].join(', ')})`);
  } else {
    const fields = p.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) throw bad(`${fields} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (with seconds first)`);
  }
  if (tz !== undefined) checkTimeZone(tz);
  let next: number | undefined;
  try {
    next = getNextMillis(now, { pattern: p, ...(tz ? { tz } : {}) });
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (next === undefined || !Number.isFinite(next)) throw bad('it never fires');
  return p;
}

export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new InputError(`time zone "${tz}" is not known (use an IANA name such as Europe/Paris or UTC)`);
  }
  return tz;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `90s`, `15m`, `1h`, `1d`, or a plain number in `bareUnit`; in milliseconds. */
export function parseDuration(text: string, option: string, bareUnit: 'ms' | 's' = 'ms'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new InputError(`${option} "${text}" is not a duration (use e.g. 90s, 15m, 1h, 1d or ${bareUnit === 's' ? 'seconds' : 'milliseconds'})`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? bareUnit]!);
}

/** `--every`: a duration (bare numbers are milliseconds), at least one second. */
export function parseEvery(text: string): number {
  const ms = parseDuration(text, '--every');
  if (!(ms >= 1000)) throw new InputError(`--every "${text}" is ${ms} ms; the shortest interval is 1s`);
  return ms;
}

export function checkScheduleName(name: string): string {
  if (!SCHEDULE_NAME.test(name)) {
    throw new InputError(`schedule name '${name}' is invalid: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit, not only digits`);
  }
  return name;
}

/** `nightly` + tick 2026-11-29T03:00:00Z -> `nightly-20261129T030000Z`: sortable, one run id per tick. */
export function scheduledRunId(schedule: string, tickMillis: number): string {
  const iso = new Date(tickMillis).toISOString(); // 2026-11-29T03:00:00.000Z
  return `${schedule}-${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}
