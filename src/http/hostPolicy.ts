/**
 * The host allow-lists every outgoing call passes (AAS_ALLOWED_HOSTS, the Power BI hosts,
 * CALLBACK_ALLOWED_HOSTS): a token or a callback body goes only to a host named here.
 */

export const DEFAULT_HTTPS_PORT = 443;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PORT = /^[1-9][0-9]{0,4}$/;

/** A host name: dot-separated DNS labels, no trailing dot, at most 253 characters. */
export function isHostName(hostname: string): boolean {
  return hostname.length <= 253 && hostname.split('.').every((label) => LABEL.test(label));
}

/**
 * IPv4 in any spelling a URL parser accepts (dotted, decimal, hex, octal) ends in a numeric
 * label; no public DNS name does. Such hosts match only an exact allow-list entry.
 */
export function looksLikeIpAddress(hostname: string): boolean {
  const last = hostname.split('.').pop() ?? '';
  return /^(?:0x[0-9a-f]*|[0-9]+)$/.test(last);
}

export function parsePort(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export interface HostAndPort {
  /** Lower-case host name without port. */
  hostname: string;
  port: number;
}

/**
 * Allow-list patterns: `host`, `host:port`, or `*.suffix[:port]`. A wildcard stands for one or
 * more whole labels and never matches IP addresses; a pattern without a port allows only 443.
 */
export function isHostAllowed(server: HostAndPort, patterns: readonly string[]): boolean {
  return patterns.some((raw) => {
    const pattern = raw.trim().toLowerCase();
    const colon = pattern.lastIndexOf(':');
    const patternHost = colon >= 0 ? pattern.slice(0, colon) : pattern;
    const patternPort = colon >= 0 ? parsePort(pattern.slice(colon + 1)) : DEFAULT_HTTPS_PORT;
    if (patternPort === undefined || patternPort !== server.port) return false;
    if (patternHost.startsWith('*.')) {
      const suffix = patternHost.slice(1); // ".asazure.windows.net"
      if (!isHostName(suffix.slice(1)) || looksLikeIpAddress(server.hostname)) return false;
      return server.hostname.endsWith(suffix) && server.hostname.length > suffix.length;
    }
    return server.hostname === patternHost;
  });
}
