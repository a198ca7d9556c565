import { Agent } from 'undici';
import { createActivities, type Activities } from './activities/activities';
import { createAasClient } from './backends/aas/client';
import { createApi, type Api } from './api/handlers';
import { createTokenProvider } from './auth';
import type { Config } from './config/config';

/** The clients and handlers the functions call, built from the settings. */
export interface Services {
  activities: Activities;
  api: Api;
}

const CALLBACK_TIMEOUT_MS = 30_000;

export function createServices(config: Config): Services {
  const tokenProvider = createTokenProvider(config.auth);
  const aas = createAasClient({ allowedHosts: config.aas.allowedHosts, tokenProvider, requestTimeoutMs: config.aas.requestTimeoutMs });
  const callbackDispatcher = new Agent({ connectTimeout: CALLBACK_TIMEOUT_MS, headersTimeout: CALLBACK_TIMEOUT_MS, bodyTimeout: CALLBACK_TIMEOUT_MS });
  return {
    activities: createActivities({ aas, callbackDispatcher, callbackAllowedHosts: config.callbackAllowedHosts, callbackTimeoutMs: CALLBACK_TIMEOUT_MS }),
    api: createApi({ config, aas }),
  };
}
