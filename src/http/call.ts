import { Agent, request, type Dispatcher } from 'undici';

/**
 * The one way a backend calls its service: undici with the app's timeouts, redirects never
 * followed (they could carry the token elsewhere), the bearer token never in an error.
 */

export interface HttpAnswer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: string;
}

/** A pooled agent for one backend's calls: connect, headers and body bounded by `timeoutMs`. */
export function createPooledAgent(timeoutMs: number): Agent {
  return new Agent({
    connect: { timeout: Math.min(timeoutMs, 30_000) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 30_000,
    connections: 16,
  });
}

/**
 * A backend client's dispatcher: the one its options give (whoever gave it closes it) or a pooled
 * agent of its own, which `close()` closes.
 */
export function clientDispatcher(given: Dispatcher | undefined, timeoutMs: number): { dispatcher: Dispatcher; close(): Promise<void> } {
  if (given !== undefined) return { dispatcher: given, close: () => Promise.resolve() };
  const agent = createPooledAgent(timeoutMs);
  return { dispatcher: agent, close: () => agent.close() };
}

export interface BearerCall {
  url: string;
  method: 'GET' | 'POST' | 'DELETE';
  token: string;
  body?: unknown;
  dispatcher: Dispatcher;
  timeoutMs: number;
}

/** Sends one JSON call with a bearer token; throws the transport's error as is (the caller classifies and redacts it). */
export async function callWithBearer({ url, method, token, body, dispatcher, timeoutMs }: BearerCall): Promise<HttpAnswer> {
  const response = await request(url, {
    method,
    dispatcher,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** A header's first value. */
export function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Replaces every occurrence of `secret` (a token) in a text by `[redacted]`. */
export function redact(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join('[redacted]') : text;
}

export function clip(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The code and message of a transport failure (ECONNREFUSED, a timeout), for an error message. */
export function transportFailure(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return [code, clip(message, 300)].filter((part) => part !== undefined).join(': ');
}
