import type { InvocationContext } from '@azure/functions';

export type LogAttributes = Record<string, string | number | boolean | undefined>;
export type LogLevel = 'info' | 'warn' | 'error';

/**
 * One line per event: a fixed event name, a space, then the attributes as JSON, so that
 * Application Insights queries can filter on the name and `parse_json` the rest. Attributes are
 * ids, codes and counts: never a secret, token, header or request body.
 */
export function logEvent(context: Pick<InvocationContext, LogLevel>, level: LogLevel, event: string, attributes: LogAttributes = {}): void {
  context[level](`${event} ${JSON.stringify(attributes)}`);
}
