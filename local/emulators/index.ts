import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock';
import { loadLocalTls, type LocalTls } from '../tls';
import { startAasEmulator, type AasEmulator, type EmulatorModelDescription } from './aas';
import { startIdentityEmulator, type IdentityEmulator } from './identity/server';
import { TokenIssuer } from './jwt';
import { aasBackend, powerBiBackend, type BackendEmulator, type BackendKind } from './backends';
import { powerBiMirrorOf, samplePowerBi, startPowerBiEmulator, type PowerBiDescription, type PowerBiEmulator } from './powerbi';

export interface EmulatorsOptions {
  clock?: Clock;
  tls?: LocalTls;
  /** 0 or unset: free ports. */
  ports?: { aas?: number; identity?: number; powerbi?: number };
  /** AAS servers and models; default the sample `myserver` / `AdventureWorks`. */
  models?: EmulatorModelDescription;
  /**
   * Power BI workspaces and semantic models. Default: with `models`, the same models (powerBiMirrorOf:
   * a workspace per server); without, the sample workspaces (samplePowerBi). The sample service
   * principal holds the roles.
   */
  powerbi?: PowerBiDescription;
}

export interface Emulators {
  issuer: TokenIssuer;
  aas: AasEmulator;
  /** Power BI / Fabric REST API (workspaces, semantic models, enhanced refresh, query scale-out). */
  powerbi: PowerBiEmulator;
  identity: IdentityEmulator;
  /** Either service behind one interface (local/emulators/backends.ts), for suites parametrised by backend. */
  backend(kind: BackendKind): BackendEmulator;
  tls: LocalTls;
  /** The service principal registered as AAS administrator and Power BI workspace member; its secret is in the emulated Key Vault. */
  servicePrincipal: { tenantId: string; clientId: string };
  /** Everything the app needs to run against the emulators (AUTH_MODE=keyVault). */
  appSettings(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export const SAMPLE_SERVICE_PRINCIPAL_CLIENT_ID = 'a5a5a5a5-0000-4000-8000-00000000aa5a';

/** One TokenIssuer shared by the identity emulator (issues) and the AAS and Power BI emulators (verify). */
export async function startEmulators(options: EmulatorsOptions = {}): Promise<Emulators> {
  const clock = options.clock ?? systemClock;
  const tls = options.tls ?? loadLocalTls();
  const issuer = new TokenIssuer(clock);
  const identity = await startIdentityEmulator({ clock, tls, issuer, port: options.ports?.identity });
  let aas: AasEmulator;
  try {
    aas = await startAasEmulator({ clock, tls, issuer, port: options.ports?.aas, models: options.models });
  } catch (error) {
    await identity.close();
    throw error;
  }
  let powerbi: PowerBiEmulator;
  try {
    powerbi = await startPowerBiEmulator({ clock, tls, issuer, port: options.ports?.powerbi, workspaces: options.powerbi ?? (options.models === undefined ? samplePowerBi(SAMPLE_SERVICE_PRINCIPAL_CLIENT_ID) : powerBiMirrorOf(options.models, SAMPLE_SERVICE_PRINCIPAL_CLIENT_ID)) });
  } catch (error) {
    await Promise.all([aas.close(), identity.close()]);
    throw error;
  }
  const aasAdapter = aasBackend(aas);
  const powerBiAdapter = powerBiBackend(powerbi);
  // A fresh random secret per start: it lives only in the emulated Entra ID and Key Vault.
  const secret = randomBytes(24).toString('base64url');
  const servicePrincipal = { tenantId: identity.tenantId, clientId: SAMPLE_SERVICE_PRINCIPAL_CLIENT_ID };
  identity.registerServicePrincipal({ ...servicePrincipal, secret });
  identity.setSecret(identity.secretName, secret);
  // The AAS emulator accepts any token it can verify for its audience: the service principal
  // stands for `app:<clientId>@<tenantId>` in the server administrators.
  return {
    issuer,
    aas,
    powerbi,
    identity,
    backend: (kind) => (kind === 'aas' ? aasAdapter : powerBiAdapter),
    tls,
    servicePrincipal,
    appSettings: (overrides = {}) => ({
      ...identity.env(),
      AUTH_MODE: 'keyVault',
      AAS_TENANT_ID: servicePrincipal.tenantId,
      AAS_CLIENT_ID: servicePrincipal.clientId,
      AAS_ALLOWED_HOSTS: aas.host,
      POWERBI_API_BASE_URL: powerbi.apiBase,
      POWERBI_ALLOWED_HOSTS: powerbi.host,
      ...overrides,
    }),
    close: async () => {
      await Promise.all([aas.close(), powerbi.close(), identity.close()]);
    },
  };
}
