/**
 * Port between the backends and the identity chain: tokens for any Entra scope (each backend
 * names its own: src/backends/<name> `tokenScope`). Implementations cache a token per scope until
 * shortly before expiry and share one in-flight fetch per scope between concurrent callers.
 */
export interface TokenProvider {
  /** A bearer token for `scope` (e.g. `https://*.asazure.windows.net/.default`). Throws AppError with an AUTH_* code. */
  getToken(scope: string): Promise<string>;
  /**
   * A service or Entra rejected the credential (401/403, expired token, rotated secret): drop the
   * cached token of `scope` (every scope's when none is given) and any cached secret, so that the
   * next call starts over.
   */
  invalidate(scope?: string): void;
}
