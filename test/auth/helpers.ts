import { systemClock, type Clock } from '../../local/clock';
import { startIdentityEmulator, type IdentityEmulator } from '../../local/emulators/identity/server';
import { TokenIssuer } from '../../local/emulators/jwt';
import { loadConfig, type AuthConfig } from '../../src/config/config';
import type { AuthLogger } from '../../src/auth';

export const SP_CLIENT_ID = '11111111-2222-4333-8444-555555555555';
export const SP_SECRET = 'sp-secret-value-Q8~abcdefghijklmnopqrstuvwxyz012';

export interface AuthFixture {
  clock: Clock;
  issuer: TokenIssuer;
  emulator: IdentityEmulator;
}

/** Starts an identity emulator with one service principal whose secret is in Key Vault. */
export async function startFixture(clock: Clock = systemClock): Promise<AuthFixture> {
  const issuer = new TokenIssuer(clock);
  const emulator = await startIdentityEmulator({ clock, issuer });
  emulator.registerServicePrincipal({ tenantId: emulator.tenantId, clientId: SP_CLIENT_ID, secret: SP_SECRET });
  emulator.setSecret(emulator.secretName, SP_SECRET);
  return { clock, issuer, emulator };
}

/**
 * The SDK picks the managed identity source once per process, on the first getToken: call this
 * in beforeAll of each test file that uses a managed identity, before any token is requested.
 */
export function pointManagedIdentityAt(emulator: IdentityEmulator): void {
  process.env.IDENTITY_ENDPOINT = emulator.identityEndpoint;
  process.env.IDENTITY_HEADER = emulator.identityHeader;
}

export function authConfig(emulator: IdentityEmulator, overrides: Record<string, string> = {}): AuthConfig {
  return loadConfig({ ...emulator.env(), AAS_CLIENT_ID: SP_CLIENT_ID, ...overrides }).auth;
}

/** A logger that keeps every event, for assertions and the leak scan. */
export function memoryLogger(): AuthLogger & { events: { level: string; event: string; attributes?: Record<string, unknown> }[] } {
  const events: { level: string; event: string; attributes?: Record<string, unknown> }[] = [];
  return {
    events,
    info: (event, attributes) => events.push({ level: 'info', event, attributes }),
    warn: (event, attributes) => events.push({ level: 'warn', event, attributes }),
  };
}

/** Awaits a promise that must fail and returns its error. */
export async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string; retryable?: boolean }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string; retryable?: boolean };
  }
  throw new Error('expected a failure');
}

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
