/** The audience AAS requires, with a literal `*` (not a wildcard). */
export const AAS_SCOPE = 'https://*.asazure.windows.net/.default';

/**
 * Port between the AAS client and the identity chain. Implementations cache tokens until shortly
 * before expiry and share one in-flight fetch between concurrent callers.
 */
export interface TokenProvider {
  /** A bearer token for the AAS audience. Throws AppError with an AUTH_* code. */
  getAasToken(): Promise<string>;
  /**
   * AAS or Entra rejected the credential (401/403, expired token, rotated secret): drop the
   * cached token and any cached secret so that the next call starts over.
   */
  invalidate(): void;
}
