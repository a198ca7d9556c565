import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCrontab } from '../../src/schedules/ncrontab';
import { parseDotnetTimeSpanTicks, parseTimerSchedule } from '../../src/schedules/timerSchedule';

/**
 * Our NCRONTAB against the real one: test/schedules/ncrontab.oracle.json is what NCrontab.Signed
 * 3.4.0 (test/oracles/ncrontab) answered for each schedule in test/oracles/ncrontab/cases.json:
 * refused, a TimeSpan, or the next occurrences after each base time ("never" when NCrontab
 * returns DateTime.MaxValue).
 */
interface OracleCase {
  schedule: string;
  kind: 'cron' | 'timeSpan' | 'refused';
  next?: Record<string, string[]>;
  ticks?: string;
  cronThrows?: string;
}
interface Oracle {
  generatedBy: string;
  bases: string[];
  occurrences: number;
  cases: OracleCase[];
}

const oracle = JSON.parse(readFileSync(join(__dirname, 'ncrontab.oracle.json'), 'utf8')) as Oracle;
const iso = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString().replace('.000Z', 'Z'));

/** Follows the schedule as the timer does: each next occurrence from the previous one. */
function occurrencesAfter(expression: string, base: string, count: number): string[] {
  const parsed = parseCrontab(expression);
  if (!parsed.ok) throw new Error(parsed.problem);
  const out: string[] = [];
  let at: number | undefined = Date.parse(base);
  for (let i = 0; i < count && at !== undefined; i++) {
    at = parsed.schedule.next(at);
    out.push(iso(at));
  }
  return out;
}

const cronCases = oracle.cases.filter((c) => c.kind === 'cron');
const refusedCases = oracle.cases.filter((c) => c.kind !== 'cron');
const timeSpanCases = oracle.cases.filter((c) => c.kind === 'timeSpan');

describe('NCRONTAB, checked against NCrontab.Signed 3.4.0', () => {
  it('has a table worth the name', () => {
    expect(oracle.generatedBy).toContain('NCrontab.Signed 3.4.0');
    expect(cronCases.length).toBeGreaterThanOrEqual(30);
    expect(refusedCases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cronCases.map((c) => [JSON.stringify(c.schedule), c] as const))('fires %s when NCrontab does', (_name, c) => {
    const actual = Object.fromEntries(oracle.bases.map((base) => [base, occurrencesAfter(c.schedule, base, oracle.occurrences)]));
    expect(actual).toEqual(c.next);
  });

  it.each(refusedCases.map((c) => [JSON.stringify(c.schedule), c] as const))('refuses %s as NCRONTAB, as NCrontab does', (_name, c) => {
    const parsed = parseCrontab(c.schedule);
    expect(parsed.ok).toBe(false);
    // The problem quotes the expression, so an operator sees which schedule it is about.
    expect(parsed.ok ? '' : parsed.problem).toContain(`"${c.schedule}"`);
  });
});

describe('TimeSpan schedules, checked against .NET TimeSpan.TryParse', () => {
  // A cron expression is never looked at as a TimeSpan (the timer tries NCRONTAB first), so only
  // the TimeSpans and the refused schedules are read here: what .NET refuses, we refuse.
  it.each(refusedCases.map((c) => [JSON.stringify(c.schedule), c] as const))('reads %s as .NET does', (_name, c) => {
    const ticks = parseDotnetTimeSpanTicks(c.schedule);
    expect(ticks?.toString()).toBe(c.kind === 'timeSpan' ? c.ticks : undefined);
  });

  it('refuses every TimeSpan unless the plan is dedicated, and says what to write instead', () => {
    for (const c of timeSpanCases) {
      const parsed = parseTimerSchedule(c.schedule, { timeSpanAllowed: false });
      expect(parsed).toEqual({ ok: false, problem: expect.stringContaining('only on a dedicated App Service plan') });
    }
  });

  it('on a dedicated plan fires a positive TimeSpan every interval, and refuses zero and negative ones that .NET would take', () => {
    const allowed = { timeSpanAllowed: true };
    const hourly = parseTimerSchedule('01:00:00', allowed);
    expect(hourly.ok && hourly.schedule.next(Date.parse('2026-01-01T00:00:00.250Z'))).toBe(Date.parse('2026-01-01T01:00:00.250Z'));
    expect(parseTimerSchedule('00:00:00', allowed)).toEqual({ ok: false, problem: expect.stringContaining('zero or less') });
    expect(parseTimerSchedule('-01:00:00', allowed)).toEqual({ ok: false, problem: expect.stringContaining('zero or less') });
    // A cron expression stays cron, even where it could also be read otherwise.
    expect(parseTimerSchedule('0 0 2 * * *', allowed)).toMatchObject({ ok: true, schedule: { kind: 'cron' } });
  });
});

describe('NCRONTAB problems an operator can act on', () => {
  it.each([
    ['* * * * *', 'has 5 fields'],
    ['0 0 0 ? * *', 'NCrontab has no ?, L, W (weekday) or #'],
    ['0 0 0 * * 5#3', 'NCrontab has no ?, L, W (weekday) or #'],
    ['0 0 0 15W * *', 'NCrontab has no ?, L, W (weekday) or #'],
    ['0 0 0 * * 7', 'the day of week field "7": 7 is outside 0-6'],
    ['0 0 24 * * *', 'the hours field "24": 24 is outside 0-23'],
    ['0 0 0 * Foo *', '"Foo" is not a month name'],
  ])('%s', (expression, problem) => {
    const parsed = parseCrontab(expression);
    expect(parsed.ok ? '' : parsed.problem).toContain(problem);
  });

  it('takes the fraction of a second as NCrontab does: the next whole matching second after it', () => {
    const parsed = parseCrontab('* * * * * *');
    expect(parsed.ok && iso(parsed.schedule.next(Date.parse('2026-01-01T00:00:00.900Z')))).toBe('2026-01-01T00:00:01Z');
  });
});
