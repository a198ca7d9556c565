/**
 * One registry of error codes. Code branches on `code`, never on `instanceof`: an error thrown
 * by an activity reaches the orchestrator as a plain Error rebuilt from its message, so the code
 * is also carried in the message as a `[CODE]` prefix (see `codeOf`).
 */
export const ErrorCodes = {
  // Input and configuration
  INVALID_REQUEST: 'INVALID_REQUEST',
  CONFIG_INVALID: 'CONFIG_INVALID',
  // AAS server names and the host allow-list
  AAS_INVALID_SERVER_NAME: 'AAS_INVALID_SERVER_NAME',
  AAS_HOST_NOT_ALLOWED: 'AAS_HOST_NOT_ALLOWED',
  // AAS answers
  AAS_CONFLICT: 'AAS_CONFLICT',
  AAS_THROTTLED: 'AAS_THROTTLED',
  AAS_TRANSIENT: 'AAS_TRANSIENT',
  AAS_UNAUTHORIZED: 'AAS_UNAUTHORIZED',
  AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN: 'AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN',
  AAS_BAD_REQUEST: 'AAS_BAD_REQUEST',
  AAS_NOT_FOUND: 'AAS_NOT_FOUND',
  AAS_BAD_RESPONSE: 'AAS_BAD_RESPONSE',
  // Power BI / Fabric targets and answers (src/backends/powerbi)
  POWERBI_INVALID_TARGET: 'POWERBI_INVALID_TARGET',
  POWERBI_HOST_NOT_ALLOWED: 'POWERBI_HOST_NOT_ALLOWED',
  POWERBI_CONFLICT: 'POWERBI_CONFLICT',
  POWERBI_THROTTLED: 'POWERBI_THROTTLED',
  POWERBI_TRANSIENT: 'POWERBI_TRANSIENT',
  POWERBI_UNAUTHORIZED: 'POWERBI_UNAUTHORIZED',
  POWERBI_NOT_FOUND: 'POWERBI_NOT_FOUND',
  POWERBI_BAD_REQUEST: 'POWERBI_BAD_REQUEST',
  POWERBI_BAD_RESPONSE: 'POWERBI_BAD_RESPONSE',
  // A request names a backend this build has no adapter registered for
  BACKEND_NOT_AVAILABLE: 'BACKEND_NOT_AVAILABLE',
  // Identity
  AUTH_MANAGED_IDENTITY_UNAVAILABLE: 'AUTH_MANAGED_IDENTITY_UNAVAILABLE',
  AUTH_KEY_VAULT_FORBIDDEN: 'AUTH_KEY_VAULT_FORBIDDEN',
  AUTH_SECRET_NOT_FOUND: 'AUTH_SECRET_NOT_FOUND',
  AUTH_SECRET_DISABLED: 'AUTH_SECRET_DISABLED',
  AUTH_INVALID_CLIENT: 'AUTH_INVALID_CLIENT',
  AUTH_CERTIFICATE_UNREADABLE: 'AUTH_CERTIFICATE_UNREADABLE',
  AUTH_TENANT_MISMATCH: 'AUTH_TENANT_MISMATCH',
  AUTH_TRANSIENT: 'AUTH_TRANSIENT',
  AUTH_FAILED: 'AUTH_FAILED',
  // Runs
  RUN_NOT_FOUND: 'RUN_NOT_FOUND',
  RUN_ALREADY_ENDED: 'RUN_ALREADY_ENDED',
  // Run outcomes
  REFRESH_FAILED: 'REFRESH_FAILED',
  REFRESH_CANCELLED: 'REFRESH_CANCELLED',
  RUN_TIMED_OUT: 'RUN_TIMED_OUT',
  RUN_CANCELLED: 'RUN_CANCELLED',
  SYNC_FAILED: 'SYNC_FAILED',
  MODEL_BUSY: 'MODEL_BUSY',
  CALLBACK_FAILED: 'CALLBACK_FAILED',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * What a backend's answer means, whatever the service: the orchestrator and the activities branch
 * on the kind, the codes stay for people and for compatibility. `conflict`: another refresh is
 * running (AAS 409, Power BI 400 "another refresh"); `throttled`: 429, wait Retry-After;
 * `transient`: 5xx, 408, no answer; `unauthorized`: the token was refused (401/403); `notFound`:
 * the model or refresh is unknown; `rejected`: any other refusal, final.
 */
export const ERROR_KINDS = ['conflict', 'throttled', 'transient', 'unauthorized', 'notFound', 'rejected'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The kind each backend code carries; an error crossing Durable keeps only its code, so the kind is read back from it. */
const KIND_OF_CODE: Partial<Record<ErrorCode, ErrorKind>> = {
  AAS_CONFLICT: 'conflict',
  AAS_THROTTLED: 'throttled',
  AAS_TRANSIENT: 'transient',
  AAS_UNAUTHORIZED: 'unauthorized',
  AAS_NOT_FOUND: 'notFound',
  AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN: 'notFound',
  AAS_BAD_REQUEST: 'rejected',
  AAS_BAD_RESPONSE: 'rejected',
  AAS_INVALID_SERVER_NAME: 'rejected',
  AAS_HOST_NOT_ALLOWED: 'rejected',
  POWERBI_CONFLICT: 'conflict',
  POWERBI_THROTTLED: 'throttled',
  POWERBI_TRANSIENT: 'transient',
  POWERBI_UNAUTHORIZED: 'unauthorized',
  POWERBI_NOT_FOUND: 'notFound',
  POWERBI_BAD_REQUEST: 'rejected',
  POWERBI_BAD_RESPONSE: 'rejected',
  POWERBI_INVALID_TARGET: 'rejected',
  POWERBI_HOST_NOT_ALLOWED: 'rejected',
  BACKEND_NOT_AVAILABLE: 'rejected',
};

/** The neutral kind of an error from a backend (its own, or its code's); undefined for errors that are not a backend's answer. */
export function kindOf(error: unknown): ErrorKind | undefined {
  if (error instanceof AppError && error.kind !== undefined) return error.kind;
  return KIND_OF_CODE[codeOf(error)];
}

/** The kind a code carries (for results that kept only the code). */
export function kindOfCode(code: string): ErrorKind | undefined {
  return Object.hasOwn(KIND_OF_CODE, code) ? KIND_OF_CODE[code as ErrorCode] : undefined;
}

export interface AppErrorOptions {
  /** True when trying the same call again later can succeed (network, 429, 5xx, token expiry). */
  retryable?: boolean;
  /** Server-suggested wait before retrying (429 Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** HTTP status of the answer that caused it, if any. */
  httpStatus?: number;
  /** The service's id of the answer, for Microsoft support (AAS x-ms-root-activity-id, Power BI x-ms-request-id). */
  rootActivityId?: string;
  /** The neutral meaning of a backend's answer; defaults to the code's (see kindOf). */
  kind?: ErrorKind;
  cause?: unknown;
}

/** An error with a stable code. Its message must never contain a secret, token or header value. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly httpStatus?: number;
  readonly rootActivityId?: string;
  readonly kind?: ErrorKind;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    // One line, no file path: the message travels through Durable (which appends its own
    // details after a newline) into run errors, callbacks and logs.
    super(`[${code}] ${oneLine(message)}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.httpStatus = options.httpStatus;
    this.rootActivityId = options.rootActivityId;
    this.kind = options.kind ?? KIND_OF_CODE[code];
  }

  /** The message without the `[CODE]` prefix. */
  get detail(): string {
    return this.message.slice(this.code.length + 3);
  }
}

const knownCodes = new Set<string>(Object.values(ErrorCodes));

/**
 * The code of any error: an AppError's own, or the first `[CODE]` in a rebuilt one's message
 * (Durable wraps an activity's message, e.g. "Activity function 'x' failed: [CODE] ...").
 */
export function codeOf(error: unknown): ErrorCode {
  if (error instanceof AppError) return error.code;
  const message = error instanceof Error ? error.message : String(error);
  for (const match of message.matchAll(/\[([A-Z_]+)\]/g)) {
    if (match[1] !== undefined && knownCodes.has(match[1])) return match[1] as ErrorCode;
  }
  return ErrorCodes.INTERNAL;
}

/**
 * What a person should read of any error: the app's own message, never a .NET exception blob,
 * a JS stack trace or a file path. An activity's error comes back from Durable as
 * `Activity function 'x' failed: [CODE] message` followed, after a newline, by the serialised
 * .NET exception (the JS library joins reason and details with " \n "), or in Azure's
 * out-of-process form `Result: Failure\nException: [CODE] message\nStack: ...`. AppError
 * messages are one line, so the text after the first known `[CODE]` up to the line's end is the
 * app's message. An error without a code (a bug, a library's own error) keeps only its first
 * meaningful line, with any file path replaced by `<path>`.
 */
export function detailOf(error: unknown): string {
  if (error instanceof AppError) return error.detail;
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error);
  const at = message.indexOf(`[${code}]`);
  if (at >= 0) return safeLine(message.slice(at + code.length + 2));
  return unexpectedErrorText(message);
}

const DURABLE_PREFIX = /^((?:Activity|Orchestrator|Entity) function '[^'\n]*' failed: )/;

function unexpectedErrorText(message: string): string {
  const prefix = DURABLE_PREFIX.exec(message)?.[1] ?? '';
  let rest = message.slice(prefix.length).replace(/^\s*Result: Failure\s*\n\s*Exception:\s*/, '');
  // A serialised exception alone, or nothing: say what happened without it.
  rest = safeLine(rest);
  if (rest === '' || rest.startsWith('{') || rest.startsWith('$OutOfProcData$')) rest = 'an unexpected error (the function app logs have the details)';
  return `${prefix}${rest}`.trim();
}

/** The first line (a stack trace starts on the next), without file paths, at most 1000 characters. */
function safeLine(text: string): string {
  const [first = ''] = text.split(/\r?\n/);
  return clip(scrubPaths(first).trim());
}

function oneLine(text: string): string {
  return scrubPaths(text.replace(/\s*[\r\n]+\s*/g, ' ')).trim();
}

// Absolute and relative file paths (Linux and Windows), with an optional :line:column, and
// node's internal module paths. Not a URL or a route: those are left alone.
const FILE_PATH =
  /(?<![\w:/.\\])(?:[A-Za-z]:\\[^\s'"()]+|\\\\[^\s'"()]+|\/(?:home|tmp|usr|var|opt|etc|root|mnt|srv|work|site|proc|Users|private)\/[^\s'"()]*|node:internal\/[^\s'"()]+|(?:\.{1,2}\/)?(?:[\w.@-]+\/)+[\w.@-]+\.(?:[cm]?[jt]s|json|pem|pfx|cs|dll|map)(?::\d+){0,2})/g;

/** Replaces each file path in a text by `<path>`. */
export function scrubPaths(text: string): string {
  return text.replace(FILE_PATH, '<path>');
}

const MAX_TEXT = 1000;
function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}

/** A text for a log attribute or an answer: its first line, no file path, at most 1000 characters. */
export const safeText = safeLine;
