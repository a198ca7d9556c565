import { z } from 'zod';

/**
 * Timestamps as the services write them, read into ISO 8601 UTC with `Z`: AAS and Power BI both
 * write seven fractional digits (`…57.1838734Z`) and timestamps without a zone (UTC), e.g.
 * `2021-12-14T03:46:04.833`.
 */

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

/** ISO 8601 UTC with `Z`, or undefined when the text is not a timestamp. */
export function normaliseTimestamp(text: string): string | undefined {
  const match = TIMESTAMP.exec(text.trim());
  if (match === null) return undefined;
  const [, date, time, fraction = '', zone = 'Z'] = match;
  const millis = `${fraction}000`.slice(0, 3);
  const parsed = new Date(`${date}T${time}.${millis}${zone.toUpperCase()}`);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

/**
 * A zod field for an optional timestamp (null, missing or empty: undefined); any other text that
 * is not a timestamp is an issue quoting it, cut to `quotedChars` when given.
 */
export function timestampField(quotedChars?: number) {
  return z
    .string()
    .nullish()
    .transform((value, ctx) => {
      if (value === null || value === undefined || value === '') return undefined;
      const iso = normaliseTimestamp(value);
      if (iso === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${quotedChars === undefined ? value : value.slice(0, quotedChars)}" is not a timestamp` });
        return z.NEVER;
      }
      return iso;
    });
}
