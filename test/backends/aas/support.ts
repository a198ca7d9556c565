import { VirtualClock } from '../../../local/clock';
import { loadLocalTls } from '../../../local/tls';
import { TokenIssuer } from '../../../local/emulators/jwt';
import { startAasEmulator, AAS_AUDIENCE, type AasEmulator, type EmulatorModelDescription } from '../../../local/emulators/aas';
import { createAasClient, type ClosableAasClient } from '../../../src/backends/aas/client';
import type { TokenProvider } from '../../../src/auth/tokenProvider';
import type { ModelRef } from '../../../src/backends/aas/types';

/** Edge fake: issues a fresh token from the shared issuer on every call and counts what it was asked. */
export class IssuerTokenProvider implements TokenProvider {
  calls = 0;
  invalidations = 0;
  readonly issued: string[] = [];

  constructor(
    private readonly issuer: TokenIssuer,
    public audience: string = AAS_AUDIENCE,
  ) {}

  /** The scopes asked for, in order. */
  readonly scopes: string[] = [];

  async getToken(scope: string): Promise<string> {
    this.calls += 1;
    this.scopes.push(scope);
    const { token } = this.issuer.issue({ aud: this.audience, tid: 'tenant-1', appid: 'app-1', iss: 'https://login.local/tenant-1/v2.0' });
    this.issued.push(token);
    return token;
  }

  invalidate(): void {
    this.invalidations += 1;
  }
}

export interface Harness {
  clock: VirtualClock;
  issuer: TokenIssuer;
  emulator: AasEmulator;
  tokens: IssuerTokenProvider;
  client: ClosableAasClient;
  model: ModelRef;
  close(): Promise<void>;
}

export async function startHarness(options: { models?: EmulatorModelDescription; requestTimeoutMs?: number } = {}): Promise<Harness> {
  const clock = new VirtualClock();
  const issuer = new TokenIssuer(clock);
  const emulator = await startAasEmulator({ clock, issuer, tls: loadLocalTls(), models: options.models });
  const tokens = new IssuerTokenProvider(issuer);
  const client = createAasClient({ allowedHosts: [emulator.host], tokenProvider: tokens, requestTimeoutMs: options.requestTimeoutMs ?? 5_000 });
  return {
    clock,
    issuer,
    emulator,
    tokens,
    client,
    model: { server: emulator.serverName('myserver'), model: 'AdventureWorks' },
    close: async () => {
      await client.close();
      await emulator.close();
    },
  };
}

/** Awaits a promise expected to reject and returns the error (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string; retryable?: boolean; retryAfterMs?: number; rootActivityId?: string; httpStatus?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
