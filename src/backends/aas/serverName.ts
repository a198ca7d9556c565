import { AppError, ErrorCodes } from '../../errors';
import { DEFAULT_HTTPS_PORT as DEFAULT_PORT, isHostAllowed, isHostName, parsePort } from '../../http/hostPolicy';

/** A parsed, allow-listed AAS server: everything needed to build request URLs. */
export interface AasServer {
  /** Lower-case host name without port. */
  hostname: string;
  /** The TCP port (443 unless the name carried another). */
  port: number;
  /** `hostname` or `hostname:port` as it goes into URLs (the default port is left out). */
  authority: string;
  /** The server's own name, lower case, without `:rw`. */
  serverName: string;
}

// AAS server names: a letter, then letters and digits, 3 to 63 characters (the portal's rule).
const SERVER_NAME = /^[a-z][a-z0-9]{2,62}$/;
// Only these characters can appear in a well-formed name; everything else (`@`, `\`, `%`, `?`,
// `#`, whitespace, control characters, non-ASCII look-alikes) is refused before any parsing.
// Checked on the name as given: lower-casing first would turn look-alikes such as the Kelvin
// sign (U+212A) into ASCII letters.
const ALLOWED_CHARACTERS = /^[a-zA-Z0-9.:/-]+$/;

function invalid(reason: string): AppError {
  return new AppError(ErrorCodes.AAS_INVALID_SERVER_NAME, `Invalid AAS server name: ${reason}. Expected asazure://<region>.asazure.windows.net/<serverName>.`);
}

/**
 * Parses `asazure://<host>[:port]/<serverName>[:rw]` with a strict grammar (not `new URL`, whose
 * leniency — userinfo, backslashes, percent-decoding, IPv4 shorthands — is what attackers use).
 * Scheme and host are case-insensitive, so they are lower-cased before matching.
 */
export function parseServerName(name: string): AasServer {
  if (typeof name !== 'string' || name.length === 0) throw invalid('empty');
  if (name.length > 400) throw invalid('too long');
  if (!ALLOWED_CHARACTERS.test(name)) {
    throw invalid('it contains characters not allowed in a server name (only letters, digits, ".", "-", ":" and "/")');
  }
  const lower = name.toLowerCase();
  const prefix = 'asazure://';
  if (!lower.startsWith(prefix)) throw invalid('the scheme must be asazure://');
  const rest = lower.slice(prefix.length);
  const parts = rest.split('/');
  if (parts.length !== 2) throw invalid('expected exactly one path segment, the server name');
  const [authority, rawServer] = parts as [string, string];
  const serverName = rawServer.endsWith(':rw') ? rawServer.slice(0, -3) : rawServer;
  if (serverName.length === 0) throw invalid('the server name is empty');
  if (!SERVER_NAME.test(serverName)) throw invalid(`"${serverName}" is not a server name (a letter, then letters and digits, 3-63 characters)`);
  const authorityParts = authority.split(':');
  if (authorityParts.length > 2) throw invalid('the host has more than one ":"');
  const [hostname, portText] = authorityParts as [string, string | undefined];
  if (hostname.length === 0) throw invalid('the host is empty');
  if (!isHostName(hostname)) throw invalid(`"${hostname}" is not a host name`);
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    const parsed = parsePort(portText);
    if (parsed === undefined) throw invalid(`"${portText}" is not a port`);
    port = parsed;
  }
  return { hostname, port, authority: port === DEFAULT_PORT ? hostname : `${hostname}:${port}`, serverName };
}

/** Parses and checks the allow-list; the one gate every AAS call passes before a token is requested. */
export function resolveServer(name: string, allowedHosts: readonly string[]): AasServer {
  const server = parseServerName(name);
  if (!isHostAllowed(server, allowedHosts)) {
    throw new AppError(
      ErrorCodes.AAS_HOST_NOT_ALLOWED,
      `AAS host "${server.authority}" is not in AAS_ALLOWED_HOSTS (${allowedHosts.join(', ')}); no token was sent.`,
    );
  }
  return server;
}

/** Encodes one path segment; `.`/`..` and empty names are refused because URL parsers collapse them. */
export function encodeSegment(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new AppError(ErrorCodes.INVALID_REQUEST, `The ${what} name is empty.`);
  }
  if (/^\.+$/.test(value)) throw new AppError(ErrorCodes.INVALID_REQUEST, `The ${what} name "${value}" is not allowed.`);
  return encodeURIComponent(value);
}

/** `https://<host>/servers/<serverName>/models/<model>/` with the model name encoded. */
export function modelBaseUrl(server: AasServer, model: string): string {
  const url = `https://${server.authority}/servers/${server.serverName}/models/${encodeSegment(model, 'model')}/`;
  // Defence in depth: the URL parser undici uses must see exactly the host we allow-listed.
  const parsed = new URL(url);
  if (parsed.host !== server.authority) {
    throw new AppError(ErrorCodes.AAS_INVALID_SERVER_NAME, `AAS host "${server.authority}" does not round-trip through URL parsing.`);
  }
  return url;
}

/** The audience AAS requires, with a literal `*` (not a wildcard), in the public cloud. */
export const AAS_PUBLIC_SCOPE = 'https://*.asazure.windows.net/.default';

/**
 * The token scope for a server: `https://*.asazure.<cloud suffix>/.default` from its
 * `<region>.asazure.<cloud suffix>` host (windows.net, chinacloudapi.cn, usgovcloudapi.net), so a
 * sovereign cloud's servers get their cloud's audience; any other host (a local emulator) the
 * public cloud's.
 */
export function aasTokenScope(server: Pick<AasServer, 'hostname'>): string {
  const match = /^[a-z0-9-]+\.asazure\.((?:[a-z0-9-]+\.)+[a-z]+)$/.exec(server.hostname);
  return match === null ? AAS_PUBLIC_SCOPE : `https://*.asazure.${match[1]}/.default`;
}
