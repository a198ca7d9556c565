import { isHostAllowed } from './hostPolicy';

/**
 * Checks a callback URL: https only, no credentials in it, host (and port) on the allow-list.
 * Returns the problem in words, or undefined when the URL may be called.
 */
export function callbackUrlProblem(url: string, allowedHosts: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.protocol !== 'https:') return 'must use https';
  if (parsed.username !== '' || parsed.password !== '') return 'must not contain credentials';
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = parsed.port === '' ? 443 : Number(parsed.port);
  if (!isHostAllowed({ hostname, port }, allowedHosts)) {
    return `host "${parsed.host}" is not in CALLBACK_ALLOWED_HOSTS (${allowedHosts.join(', ')})`;
  }
  return undefined;
}
