import { VirtualClock } from '../../../local/clock';
import { startEmulators, type Emulators } from '../../../local/emulators';
import { SAMPLE_DATASET_ID, SAMPLE_DATASET_NAME, SAMPLE_WORKSPACE_ID, SAMPLE_WORKSPACE_NAME } from '../../../local/emulators/powerbi';
import { aasBackend } from '../../../src/backends/aas';
import { powerBiBackend } from '../../../src/backends/powerbi';
import { createTokenProvider } from '../../../src/auth';
import type { TokenProvider } from '../../../src/auth/tokenProvider';
import { loadConfig, type Config } from '../../../src/config/config';
import type { BackendClient, RefreshBackend } from '../../../src/refresh/port';
import type { RefreshTarget } from '../../../src/refresh/target';
import { memoryLogger, pointManagedIdentityAt } from '../../auth/helpers';

/**
 * One backend as the contract suite drives it: the adapter and its client built from the app's
 * settings (startEmulators().appSettings()), the real identity chain (managed identity → Key Vault
 * → service principal → a token for the backend's scope), and the service's emulator over TLS.
 * The `...` methods make the service misbehave the way the case needs, in the service's own terms.
 */
export interface BackendHarness {
  readonly name: string;
  readonly backend: RefreshBackend;
  readonly client: BackendClient;
  /** The sample model, as a request would name it (names for Power BI; resolved by the case). */
  readonly requestTarget: RefreshTarget;
  /** A target the adapter must refuse before any token, and the words its error must contain. */
  readonly badTarget: { target: RefreshTarget; message: RegExp };
  /** Two spellings of the sample model that must share one run-per-model key (after resolution): AAS with and without `:rw` and in other case, Power BI by names and by upper-case ids. */
  readonly sameModelSpellings: [RefreshTarget, RefreshTarget];
  readonly clock: VirtualClock;
  /** Someone else refreshes the whole model for `durationMs`. */
  startOutsideRefresh(durationMs: number): void;
  /** The next call of `operation` answers 429 with Retry-After. */
  throttleNext(operation: 'getRefresh' | 'listRefreshes', retryAfterSeconds: number): void;
  /** The next call of `operation` answers 503. */
  failNext(operation: 'getRefresh' | 'listRefreshes'): void;
  /** The next call of `operation` answers 401: the token is refused (expired, revoked). */
  refuseTokenNext(operation: 'listRefreshes'): void;
  /** Every partition of the next refreshes takes this long. */
  setPartitionDurationMs(ms: number): void;
  /** The calls the service saw for `operation`. */
  callsOf(operation: 'submitRefresh' | 'getRefresh' | 'listRefreshes'): number;
  reset(): void;
}

export interface ContractStack {
  emulators: Emulators;
  clock: VirtualClock;
  tokens: TokenProvider;
  config: Config;
  harnesses: BackendHarness[];
  close(): Promise<void>;
}

/** Starts the emulators once (the SDK's managed identity source is picked once per process) and both harnesses on them. */
export async function startContractStack(): Promise<ContractStack> {
  const clock = new VirtualClock(Date.now());
  const emulators = await startEmulators({ clock });
  pointManagedIdentityAt(emulators.identity);
  const settings = emulators.appSettings();
  const config = loadConfig(settings);
  const tokens = createTokenProvider(config.auth, { logger: memoryLogger(), now: () => clock.now() });
  const deps = { config, tokens, requestTimeoutMs: 5_000 };
  const { aas, powerbi } = emulators;
  const aasServer = aas.serverName('myserver');

  const aasHarness: BackendHarness = {
    name: 'AAS',
    backend: aasBackend as unknown as RefreshBackend,
    client: aasBackend.createClient(deps) as unknown as BackendClient,
    requestTarget: { backend: 'aas', server: aasServer, model: 'AdventureWorks' },
    badTarget: { target: { backend: 'aas', server: 'asazure://evil.example.com/myserver', model: 'AdventureWorks' }, message: /not in AAS_ALLOWED_HOSTS/ },
    sameModelSpellings: [
      { backend: 'aas', server: aasServer, model: 'AdventureWorks' },
      { backend: 'aas', server: `${aasServer.toUpperCase()}:rw`, model: 'AdventureWorks' },
    ],
    clock,
    startOutsideRefresh: (durationMs) => void aas.startOutsideRefresh('myserver', 'AdventureWorks', { durationMs }),
    throttleNext: (operation, retryAfterSeconds) => aas.inject({ operation, fault: { status: 429, retryAfterSeconds } }),
    failNext: (operation) => aas.inject({ operation, fault: { status: 503 } }),
    refuseTokenNext: (operation) => aas.inject({ operation, fault: { kind: 'expireTokens' } }),
    setPartitionDurationMs: (ms) => aas.setDefaultDurationMs(ms),
    callsOf: (operation) => aas.countRequests(operation),
    reset: () => aas.reset(),
  };

  const powerBiHarness: BackendHarness = {
    name: 'Power BI',
    backend: powerBiBackend as unknown as RefreshBackend,
    client: powerBiBackend.createClient(deps) as unknown as BackendClient,
    requestTarget: { backend: 'powerbi', workspace: SAMPLE_WORKSPACE_NAME, semanticModel: SAMPLE_DATASET_NAME },
    badTarget: { target: { backend: 'powerbi', workspace: 'Sales\u0000Analytics', semanticModel: SAMPLE_DATASET_NAME }, message: /contains a control character/ },
    sameModelSpellings: [
      { backend: 'powerbi', workspace: SAMPLE_WORKSPACE_NAME, semanticModel: SAMPLE_DATASET_NAME },
      { backend: 'powerbi', workspace: SAMPLE_WORKSPACE_ID.toUpperCase(), semanticModel: SAMPLE_DATASET_ID.toUpperCase() },
    ],
    clock,
    startOutsideRefresh: (durationMs) => void powerbi.startOutsideRefresh(SAMPLE_DATASET_ID, { durationMs }),
    throttleNext: (operation, retryAfterSeconds) => powerbi.inject({ operation, fault: { status: 429, retryAfterSeconds } }),
    failNext: (operation) => powerbi.inject({ operation, fault: { status: 503 } }),
    refuseTokenNext: (operation) => powerbi.inject({ operation, fault: { kind: 'expireTokens' } }),
    setPartitionDurationMs: (ms) => powerbi.setDefaultDurationMs(ms),
    callsOf: (operation) => powerbi.countRequests(operation),
    reset: () => powerbi.reset(),
  };

  return {
    emulators,
    clock,
    tokens,
    config,
    harnesses: [aasHarness, powerBiHarness],
    async close() {
      await Promise.all([aasHarness.client.close(), powerBiHarness.client.close()]);
      await emulators.close();
    },
  };
}
