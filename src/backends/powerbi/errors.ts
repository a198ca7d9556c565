import { AppError, ErrorCodes, type ErrorCode } from '../../errors';
import { header, parseRetryAfter } from '../../http/call';

export type PowerBiOperation =
  | 'resolveWorkspace'
  | 'resolveSemanticModel'
  | 'submitRefresh'
  | 'getRefresh'
  | 'listRefreshes'
  | 'cancelRefresh'
  | 'submitSync'
  | 'getSync';

export interface PowerBiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The id of an answer Microsoft support asks for: `x-ms-request-id`, or the `RequestId` header Power BI also sends. */
export function serviceRequestIdOf(headers: PowerBiAnswer['headers']): string | undefined {
  const id = header(headers, 'x-ms-request-id') ?? header(headers, 'requestid');
  return id !== undefined && /^[A-Za-z0-9-]{1,64}$/.test(id) ? id : undefined;
}

// Anything shaped like a JWT or a long opaque credential: never repeated from a body into a message.
const CREDENTIAL_LIKE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*|\b[A-Za-z0-9+/_-]{80,}={0,2}/g;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** A service text made safe for a message: one line, no control characters, nothing credential-like, at most `max` characters. */
export function sanitiseServiceText(text: string, max = 500): string {
  const cleaned = text.replace(CONTROL, ' ').replace(CREDENTIAL_LIKE, '[redacted]').replace(/\s+/g, ' ').trim();
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

export interface ServiceError {
  code?: string;
  message?: string;
}

/**
 * The error a Power BI body carries: `{"error":{"code":"InvalidRequest","message":"…"}}`, the
 * `pbi.error` variant with only a code (`PowerBIEntityNotFound`), or a bare `{"message":"…"}`
 * (the 429 answer). Undefined when the body is not JSON or says nothing.
 */
export function serviceErrorOf(body: string): ServiceError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const record = parsed as Record<string, unknown>;
  const inner = (typeof record.error === 'object' && record.error !== null ? record.error : record) as Record<string, unknown>;
  const pbiError = typeof inner['pbi.error'] === 'object' && inner['pbi.error'] !== null ? (inner['pbi.error'] as Record<string, unknown>) : undefined;
  const code = typeof inner.code === 'string' ? inner.code : typeof pbiError?.code === 'string' ? pbiError.code : undefined;
  const message = typeof inner.message === 'string' ? inner.message : undefined;
  if (code === undefined && message === undefined) return undefined;
  return { ...(code === undefined ? {} : { code: sanitiseServiceText(code, 100) }), ...(message === undefined ? {} : { message: sanitiseServiceText(message) }) };
}

/**
 * Power BI refuses a refresh while another runs on the model with 400 (AAS: 409), body
 * `{"error":{"code":"InvalidRequest","message":"Invalid dataset refresh request. Another refresh
 * request is already executing"}}`. The early preview documented 409 for the same case.
 */
const ANOTHER_REFRESH = /another refresh|already (?:executing|running|in progress)/i;
/** A cancel that found the refresh ended: the wording is not documented, so any "not running / already ended" text. */
const NOT_RUNNING = /not (?:running|in progress|cancell?able)|no longer|already (?:completed|finished|ended|cancell?ed|failed)|cannot be cancell?ed/i;

export interface Classified {
  code: ErrorCode;
  /** The cause in words, after "HTTP <status>". */
  what: string;
  retryable: boolean;
  retryAfterMs?: number;
  /** The token was refused: the caller drops it before throwing. */
  unauthorized?: boolean;
}

/**
 * The one place that says what a Power BI answer means. Undefined for 2xx. One retry layer: every
 * retryable error is thrown for Durable's retry (or the next poll), never retried here.
 */
export function classifyAnswer(operation: PowerBiOperation, answer: PowerBiAnswer, now: number = Date.now()): Classified | undefined {
  const { status } = answer;
  if (status >= 200 && status < 300) return undefined;
  const text = [serviceErrorOf(answer.body)?.code, serviceErrorOf(answer.body)?.message].filter((part) => part !== undefined).join(': ');
  if ((status === 400 || status === 409) && operation === 'submitRefresh' && (status === 409 || ANOTHER_REFRESH.test(text))) {
    return { code: ErrorCodes.POWERBI_CONFLICT, what: 'conflict: another refresh is running on this semantic model', retryable: false };
  }
  if ((status === 400 || status === 409) && operation === 'cancelRefresh' && (status === 409 || NOT_RUNNING.test(text))) {
    return { code: ErrorCodes.POWERBI_CONFLICT, what: 'the refresh is not running any more', retryable: false };
  }
  if (status === 429) return { code: ErrorCodes.POWERBI_THROTTLED, what: 'throttled', retryable: true, retryAfterMs: parseRetryAfter(header(answer.headers, 'retry-after'), now) }; // Power BI sends seconds (Retry-After: 3392)
  if (status >= 500 || status === 408) return { code: ErrorCodes.POWERBI_TRANSIENT, what: 'server error', retryable: true };
  if (status === 401 || status === 403) {
    return {
      code: ErrorCodes.POWERBI_UNAUTHORIZED,
      what: 'the token was refused (is the service principal allowed by the tenant setting for service principals and the Power BI APIs, and does it have a role in the workspace?)',
      retryable: true,
      unauthorized: true,
    };
  }
  if (status === 404) return { code: ErrorCodes.POWERBI_NOT_FOUND, what: 'not found (or not visible to the service principal: no role in the workspace)', retryable: false };
  if (status >= 400) return { code: ErrorCodes.POWERBI_BAD_REQUEST, what: 'bad request', retryable: false };
  // 1xx/3xx: redirects are never followed (they could carry the token elsewhere).
  return { code: ErrorCodes.POWERBI_BAD_RESPONSE, what: 'unexpected status', retryable: false };
}

/** The AppError for a non-2xx answer: what it means, the service's own words (sanitised) and its request id for support. */
export function answerError(operation: PowerBiOperation, target: string, answer: PowerBiAnswer, classified: Classified): AppError {
  const serviceError = serviceErrorOf(answer.body);
  const requestId = serviceRequestIdOf(answer.headers);
  const said = serviceError === undefined ? undefined : [serviceError.code, serviceError.message].filter((part) => part !== undefined).join(': ');
  const suffix = [said === undefined ? undefined : `Power BI said: ${said}`, requestId === undefined ? undefined : `request id ${requestId}`].filter((part) => part !== undefined).join('; ');
  return new AppError(classified.code, `Power BI ${operation} on ${target}: HTTP ${answer.status} ${classified.what}${suffix === '' ? '' : ` (${suffix})`}`, {
    retryable: classified.retryable,
    retryAfterMs: classified.retryAfterMs,
    httpStatus: answer.status,
    rootActivityId: requestId,
  });
}
