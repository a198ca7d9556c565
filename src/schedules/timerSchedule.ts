import { parseCrontab } from './ncrontab';

/**
 * A timer-trigger schedule as the Functions host reads it (azure-webjobs-sdk-extensions,
 * TimerSchedule.Create): an NCRONTAB expression first; failing that, a .NET TimeSpan meaning
 * "every interval". On Consumption, Flex Consumption and Premium plans the host accepts only
 * NCRONTAB (azure-functions-host, CoreExtensionsScriptBindingProvider on a dynamic SKU), so a
 * TimeSpan is refused unless the app is told that its plan is a dedicated (App Service) one.
 */
export type TimerSchedule =
  | { kind: 'cron'; expression: string; next(afterMs: number): number | undefined }
  | { kind: 'interval'; expression: string; intervalMs: number; next(afterMs: number): number };

export type TimerScheduleParse = { ok: true; schedule: TimerSchedule } | { ok: false; problem: string };

export interface TimerScheduleOptions {
  /** True only on a dedicated (App Service) plan, the one plan where Functions runs TimeSpan schedules. */
  timeSpanAllowed: boolean;
}

export function parseTimerSchedule(expression: string, options: TimerScheduleOptions): TimerScheduleParse {
  const cron = parseCrontab(expression);
  if (cron.ok) return { ok: true, schedule: { kind: 'cron', expression, next: cron.schedule.next } };
  const ticks = parseDotnetTimeSpanTicks(expression);
  if (ticks === undefined) return { ok: false, problem: cron.problem };
  if (!options.timeSpanAllowed) {
    return {
      ok: false,
      problem: `"${expression}" is a TimeSpan (a fixed interval); Functions runs TimeSpan schedules only on a dedicated App Service plan, not on Flex Consumption: write it as a six-field NCRONTAB expression such as "0 0 */3 * * *" (every three hours), or set HOSTING_PLAN=dedicated if the app runs on an App Service plan`,
    };
  }
  // .NET accepts both; a zero interval would fire without pause and a negative one never.
  if (ticks <= 0n) return { ok: false, problem: `"${expression}" is an interval of zero or less; give a positive TimeSpan such as "01:00:00"` };
  const intervalMs = Number(ticks) / 10_000;
  return { ok: true, schedule: { kind: 'interval', expression, intervalMs, next: (afterMs) => afterMs + intervalMs } };
}

const TICKS_PER_SECOND = 10_000_000n;
const MAX_DAYS = 10_675_199n;

/**
 * The forms of .NET's TimeSpan.TryParse (invariant culture) that a schedule would use: `d`,
 * `[d.]hh:mm[:ss[.fffffff]]`, `d:hh:mm:ss[.fffffff]`, with an optional `-`, and .NET's reading
 * of `hh:mm:ss` whose hours exceed 23 as `d:hh:mm` ("24:00:00" is 24 days). Anything else is
 * refused, which at worst is stricter than .NET. Returns 100 ns ticks.
 */
export function parseDotnetTimeSpanTicks(text: string): bigint | undefined {
  const trimmed = text.trim();
  const sign = trimmed.startsWith('-') ? -1n : 1n;
  const body = sign < 0n ? trimmed.slice(1) : trimmed;
  let days = 0n;
  let hours = 0n;
  let minutes = 0n;
  let seconds = 0n;
  let fraction = '';
  let match: RegExpExecArray | null;
  if ((match = /^(\d+)$/.exec(body)) !== null) {
    days = BigInt(match[1] ?? '0');
  } else if ((match = /^(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d{1,7}))?)?$/.exec(body)) !== null) {
    const [, d, h = '0', m = '0', s, f = ''] = match;
    if (d === undefined && s !== undefined && f === '' && BigInt(h) > 23n) {
      // "hh:mm:ss" with hh over 23 is read as d:hh:mm.
      [days, hours, minutes] = [BigInt(h), BigInt(m), BigInt(s)];
    } else {
      [days, hours, minutes, seconds, fraction] = [BigInt(d ?? '0'), BigInt(h), BigInt(m), BigInt(s ?? '0'), f];
    }
  } else if ((match = /^(\d+):(\d+):(\d+):(\d+)(?:\.(\d{1,7}))?$/.exec(body)) !== null) {
    const [, d = '0', h = '0', m = '0', s = '0', f = ''] = match;
    [days, hours, minutes, seconds, fraction] = [BigInt(d), BigInt(h), BigInt(m), BigInt(s), f];
  } else {
    return undefined;
  }
  if (days > MAX_DAYS || hours > 23n || minutes > 59n || seconds > 59n) return undefined;
  const fractionTicks = fraction === '' ? 0n : BigInt(fraction.padEnd(7, '0'));
  return sign * ((((days * 24n + hours) * 60n + minutes) * 60n + seconds) * TICKS_PER_SECOND + fractionTicks);
}

