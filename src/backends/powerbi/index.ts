import type { Config } from '../../config/config';
import type { BackendClient, RefreshBackend } from '../../refresh/port';
import type { PowerBiTarget } from '../../refresh/target';
import type { RefreshRequest } from '../../refresh/types';
import { checkApiBaseUrl, createPowerBiClient, POWERBI_SCOPE } from './client';
import { powerBiRefreshProblems } from './refreshBody';
import { parsePowerBiTarget, powerBiModelKey } from './target';

/** The Power BI part of the app's settings (POWERBI_API_BASE_URL, POWERBI_ALLOWED_HOSTS). */
export interface PowerBiSettings {
  apiBaseUrl: string;
  allowedHosts: readonly string[];
}

/** The Power BI settings of the app's configuration (the public cloud's unless set). */
export function powerBiSettingsOf(config: Config): PowerBiSettings {
  return { apiBaseUrl: config.powerbi.apiBaseUrl, allowedHosts: config.powerbi.allowedHosts };
}

/**
 * The Power BI / Fabric adapter of the backend port: enhanced refresh through the Power BI REST
 * API (`/v1.0/myorg/groups/{workspace}/datasets/{semanticModel}/refreshes`), query scale-out sync
 * as the replica sync. Its own shapes stay in ./answers.ts, ./errors.ts and ./refreshBody.ts.
 */
export const powerBiBackend: RefreshBackend<PowerBiTarget> = {
  backend: 'powerbi',
  label: 'Power BI',
  supportsSync: true,

  parseTarget(target, config) {
    const settings = powerBiSettingsOf(config);
    // The host gate before any token, as for AAS; the client passes it again on every call.
    checkApiBaseUrl(settings.apiBaseUrl, settings.allowedHosts);
    return parsePowerBiTarget(target);
  },

  modelKey: powerBiModelKey,

  refreshProblems(refresh: RefreshRequest) {
    return powerBiRefreshProblems(refresh);
  },

  tokenScope() {
    return POWERBI_SCOPE;
  },

  createClient(deps): BackendClient<PowerBiTarget> {
    const settings = powerBiSettingsOf(deps.config);
    return createPowerBiClient({ ...settings, tokens: deps.tokens, requestTimeoutMs: deps.requestTimeoutMs, dispatcher: deps.dispatcher });
  },
};
