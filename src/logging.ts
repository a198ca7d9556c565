import type { InvocationContext } from '@azure/functions';
import { safeText } from './errors';

export type LogAttributes = Record<string, string | number | boolean | undefined>;
export type LogLevel = 'info' | 'warn' | 'error';

/**
 * One line per event: a fixed event name, a space, then the attributes as JSON, so that
 * Application Insights queries can filter on the name and `parse_json` the rest. Attributes are
 * ids, codes, counts and the app's own messages: never a secret, token, header or request body.
 * Text attributes keep their first line with file paths replaced, so that an error's stack
 * trace or a serialised .NET exception never reaches the logs through one.
 */
export function logEvent(context: Pick<InvocationContext, LogLevel>, level: LogLevel, event: string, attributes: LogAttributes = {}): void {
  const safe = Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, typeof value === 'string' ? safeText(value) : value]));
  context[level](`${event} ${JSON.stringify(safe)}`);
}
