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
  AAS_NOT_ADMIN: 'AAS_NOT_ADMIN',
  AAS_BAD_REQUEST: 'AAS_BAD_REQUEST',
  AAS_NOT_FOUND: 'AAS_NOT_FOUND',
  AAS_BAD_RESPONSE: 'AAS_BAD_RESPONSE',
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

export interface AppErrorOptions {
  /** True when trying the same call again later can succeed (network, 429, 5xx, token expiry). */
  retryable?: boolean;
  /** Server-suggested wait before retrying (429 Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** HTTP status of the answer that caused it, if any. */
  httpStatus?: number;
  /** `x-ms-root-activity-id` of the AAS answer, for Microsoft support. */
  rootActivityId?: string;
  cause?: unknown;
}

/** An error with a stable code. Its message must never contain a secret, token or header value. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly httpStatus?: number;
  readonly rootActivityId?: string;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(`[${code}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.httpStatus = options.httpStatus;
    this.rootActivityId = options.rootActivityId;
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

/** The message of a rebuilt error from its `[CODE]` on, without the code: what a person should read. */
export function detailOf(error: unknown): string {
  if (error instanceof AppError) return error.detail;
  const message = (error instanceof Error ? error.message : String(error)).split('\n\n$OutOfProcData$')[0] ?? '';
  const code = codeOf(error);
  const at = message.indexOf(`[${code}]`);
  return at >= 0 ? message.slice(at + code.length + 2).trim() : message;
}
