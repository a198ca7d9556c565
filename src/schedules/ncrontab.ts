/**
 * NCRONTAB as the Azure Functions timer trigger reads it: NCrontab (atifaziz/NCrontab 3.4.0,
 * CrontabSchedule.cs, CrontabField.cs, CrontabFieldImpl.cs) with seconds first, as
 * azure-webjobs-sdk-extensions' CronSchedule.TryCreate asks for. Written from NCrontab's rules,
 * including its quirks, because an expression must be accepted, refused and fired exactly as it
 * is in Azure; test/schedules/ncrontab.test.ts checks this against the real package's answers.
 *
 * What that means for a user: six fields separated by spaces (seconds, minutes, hours, day of
 * month, month, day of week); `*`, numbers, `a-b` ranges (swapped when reversed), `x/n` steps
 * and `,` lists; month and day names by any prefix ("Ju" is June, "W" Wednesday); day of week
 * 0-6 with Sunday 0 (7 is refused); no `?`, `L`, `W` (as "weekday") or `#`; and an occurrence
 * must match both the day of month and the day of week. Times are UTC, as on Linux plans.
 */

interface FieldKind {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldKind[] = [
  { label: 'seconds', min: 0, max: 59 },
  { label: 'minutes', min: 0, max: 59 },
  { label: 'hours', min: 0, max: 23 },
  { label: 'day of month', min: 1, max: 31 },
  {
    label: 'month',
    min: 1,
    max: 12,
    names: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
  },
  { label: 'day of week', min: 0, max: 6, names: ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] },
];

/** The values one field allows, kept the way NCrontab keeps them (a bit per value, lowest and highest set). */
class Field {
  private readonly bits: boolean[];
  private lowest = Number.POSITIVE_INFINITY;
  private highest = -1;

  constructor(readonly kind: FieldKind) {
    this.bits = new Array<boolean>(kind.max - kind.min + 1).fill(false);
  }

  first(): number {
    return this.lowest;
  }

  /** The first allowed value at or after `start`, or -1. */
  next(start: number): number {
    if (start < this.lowest) return this.lowest;
    for (let value = start; value <= this.highest; value++) {
      if (this.bits[value - this.kind.min] === true) return value;
    }
    return -1;
  }

  contains(value: number): boolean {
    return this.bits[value - this.kind.min] === true;
  }

  /** NCrontab's Accumulate: `start = end = -1` is `*`; a reversed range is swapped; a step below 1 counts as 1. */
  add(start: number, end: number, step: number): string | undefined {
    const { min, max } = this.kind;
    if (start === end) {
      if (start < 0) {
        if (step <= 1) {
          this.bits.fill(true);
          this.lowest = min;
          this.highest = max;
          return undefined;
        }
        start = min;
        end = max;
      } else {
        if (start < min) return this.outOfRange(start);
        if (start > max) return this.outOfRange(start);
      }
    } else {
      if (start > end) [start, end] = [end, start];
      if (start < 0) start = min;
      else if (start < min) return this.outOfRange(start);
      if (end < 0) end = max;
      else if (end > max) return this.outOfRange(end);
    }
    if (step < 1) step = 1;
    let value = start;
    for (; value <= end; value += step) this.bits[value - min] = true;
    this.lowest = Math.min(this.lowest, start);
    this.highest = Math.max(this.highest, value - step);
    return undefined;
  }

  private outOfRange(value: number): string {
    return `${value} is outside ${this.kind.min}-${this.kind.max}`;
  }
}

/** What .NET's int.Parse(s, InvariantCulture) accepts: optional white space, one sign, ASCII digits. */
function parseDotnetInt(text: string): number | string {
  const match = /^[\t\n\v\f\r ]*([+-]?)(\d+)[\t\n\v\f\r ]*$/.exec(text);
  if (match === null) return `"${text}" is not a number`;
  const value = Number(`${match[1]}${match[2]}`);
  if (value > 2 ** 31 - 1 || value < -(2 ** 31)) return `"${text}" is too large`;
  return value;
}

const UNSUPPORTED_HINT = 'NCrontab has no ?, L, W (weekday) or # (use *, ranges and lists)';

/** NCrontab's InternalParse of one field: lists, then a step, then `*`, a range, or one value. */
function parseField(field: Field, text: string): string | undefined {
  if (text.length === 0) return 'a value is empty';
  if (text.indexOf(',') > 0) {
    for (const item of text.split(',')) {
      const problem = parseField(field, item);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  let step: number | undefined;
  const slash = text.indexOf('/');
  if (slash > 0) {
    const parsed = parseDotnetInt(text.slice(slash + 1));
    if (typeof parsed === 'string') return `the step ${parsed}`;
    step = parsed;
    text = text.slice(0, slash);
  }
  if (text === '*') return field.add(-1, -1, step ?? 1);
  const dash = text.indexOf('-');
  if (dash > 0) {
    const first = parseValue(field.kind, text.slice(0, dash));
    if (typeof first === 'string') return first;
    const last = parseValue(field.kind, text.slice(dash + 1));
    if (typeof last === 'string') return last;
    return field.add(first, last, step ?? 1);
  }
  const value = parseValue(field.kind, text);
  if (typeof value === 'string') return value;
  return step === undefined ? field.add(value, value, 1) : field.add(value, field.kind.max, step);
}

function parseValue(kind: FieldKind, text: string): number | string {
  if (text.length === 0) return 'a value is empty';
  const head = text.charCodeAt(0);
  if (head >= 48 && head <= 57) return parseDotnetInt(text);
  if (kind.names === undefined) return `"${text}" is not a number from ${kind.min} to ${kind.max}`;
  // CompareInfo.IsPrefix(name, text, IgnoreCase): the name starts with what was written.
  const index = kind.names.findIndex((name) => name.toLowerCase().startsWith(text.toLowerCase()));
  if (index < 0) return `"${text}" is not a ${kind.label} name (${kind.names.join(', ')})`;
  return index + kind.min;
}

export interface CrontabSchedule {
  /** The expression as written. */
  readonly expression: string;
  /**
   * The first occurrence strictly after `afterMs` (epoch milliseconds, UTC; the fraction of a
   * second is dropped as NCrontab does), or undefined when there is none before year 10000.
   */
  next(afterMs: number): number | undefined;
}

export type CrontabParse = { ok: true; schedule: CrontabSchedule } | { ok: false; problem: string };

export const CRONTAB_EXAMPLE = '"0 0 2 * * *" (02:00 UTC every day)';

/** Parses a six-field NCRONTAB expression; the problem names the field and what is wrong with it. */
export function parseCrontab(expression: string): CrontabParse {
  // Fields are separated by spaces only: a tab stays inside its field, as in NCrontab.
  const tokens = expression.split(' ').filter((token) => token.length > 0);
  if (tokens.length !== FIELDS.length) {
    return {
      ok: false,
      problem: `"${expression}" has ${tokens.length} field${tokens.length === 1 ? '' : 's'}; the Functions timer needs six separated by spaces: seconds, minutes, hours, day of month, month, day of week, e.g. ${CRONTAB_EXAMPLE}`,
    };
  }
  const fields = FIELDS.map((kind) => new Field(kind));
  for (const [index, field] of fields.entries()) {
    const token = tokens[index] ?? '';
    const problem = parseField(field, token);
    if (problem !== undefined) {
      const hint = /[?#]|^L|\dL|\dW|LW/i.test(token) ? `; ${UNSUPPORTED_HINT}` : '';
      return { ok: false, problem: `"${expression}": the ${field.kind.label} field "${token}": ${problem}${hint}` };
    }
  }
  const [seconds, minutes, hours, days, months, daysOfWeek] = fields as [Field, Field, Field, Field, Field, Field];
  const schedule = { seconds, minutes, hours, days, months, daysOfWeek };
  return { ok: true, schedule: { expression, next: (afterMs) => nextOccurrence(schedule, afterMs) } };
}

interface Fields {
  seconds: Field;
  minutes: Field;
  hours: Field;
  days: Field;
  months: Field;
  daysOfWeek: Field;
}

const MAX_YEAR = 9999;
const NIL = -1;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * NCrontab's TryGetNextOccurrence, step for step: it is not a plain "first matching second"
 * search (a day of week that does not match restarts from 23:59:59 of that day), and following
 * its steps is what keeps every answer equal to Azure's.
 */
function nextOccurrence(f: Fields, afterMs: number): number | undefined {
  let base = new Date(Math.floor(afterMs / 1000) * 1000);
  for (;;) {
    const baseYear = base.getUTCFullYear();
    const baseMonth = base.getUTCMonth() + 1;
    const baseDay = base.getUTCDate();
    const baseHour = base.getUTCHours();
    const baseMinute = base.getUTCMinutes();
    let year = baseYear;
    let month = baseMonth;
    let day = baseDay;
    let hour = baseHour;
    let minute = baseMinute;
    let second = f.seconds.next(base.getUTCSeconds() + 1);
    if (second === NIL) {
      second = f.seconds.first();
      minute++;
    }
    minute = f.minutes.next(minute);
    if (minute === NIL) {
      second = f.seconds.first();
      minute = f.minutes.first();
      hour++;
    } else if (minute > baseMinute) {
      second = f.seconds.first();
    }
    hour = f.hours.next(hour);
    if (hour === NIL) {
      minute = f.minutes.first();
      hour = f.hours.first();
      day++;
    } else if (hour > baseHour) {
      second = f.seconds.first();
      minute = f.minutes.first();
    }
    day = f.days.next(day);
    for (;;) {
      if (day === NIL) {
        second = f.seconds.first();
        minute = f.minutes.first();
        hour = f.hours.first();
        day = f.days.first();
        month++;
      } else if (day > baseDay) {
        second = f.seconds.first();
        minute = f.minutes.first();
        hour = f.hours.first();
      }
      month = f.months.next(month);
      if (month === NIL) {
        second = f.seconds.first();
        minute = f.minutes.first();
        hour = f.hours.first();
        day = f.days.first();
        month = f.months.first();
        year++;
      } else if (month > baseMonth) {
        second = f.seconds.first();
        minute = f.minutes.first();
        hour = f.hours.first();
        day = f.days.first();
      }
      if (year > MAX_YEAR) return undefined;
      const dateChanged = day !== baseDay || month !== baseMonth || year !== baseYear;
      // Day 29-31 of a month that does not have it: look again from the next month.
      if (day > 28 && dateChanged && day > daysInMonth(year, month)) {
        day = NIL;
        continue;
      }
      break;
    }
    const candidate = Date.UTC(year, month - 1, day, hour, minute, second);
    // Both day fields must match: on a day of week that does not, start again from its last second.
    if (f.daysOfWeek.contains(new Date(candidate).getUTCDay())) return candidate;
    base = new Date(Date.UTC(year, month - 1, day, 23, 59, 59));
  }
}
