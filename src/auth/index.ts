export type { TokenProvider } from './tokenProvider';
export { createTokenProvider, TOKEN_REFRESH_MARGIN_MS, type AuthLogger, type TokenProviderOptions } from './createTokenProvider';
export { classifyAuthError, type AuthStage } from './classify';
