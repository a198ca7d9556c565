import { Agent } from 'undici';
import { createActivities, type Activities } from './activities/activities';
import { createApi, type Api } from './api/handlers';
import { createTokenProvider } from './auth';
import { backends } from './backends';
import type { Config } from './config/config';
import { createBackendClients, type BackendClients } from './refresh/registry';

/** The clients and handlers the functions call, built from the settings. */
export interface Services {
  activities: Activities;
  api: Api;
  /** Every registered backend's client (built on first use), behind the port. */
  backends: BackendClients;
}

const CALLBACK_TIMEOUT_MS = 30_000;

export function createServices(config: Config): Services {
  const tokens = createTokenProvider(config.auth);
  const clients = createBackendClients(backends, { config, tokens, requestTimeoutMs: config.aas.requestTimeoutMs });
  const callbackDispatcher = new Agent({ connectTimeout: CALLBACK_TIMEOUT_MS, headersTimeout: CALLBACK_TIMEOUT_MS, bodyTimeout: CALLBACK_TIMEOUT_MS });
  return {
    activities: createActivities({ backends: clients, callbackDispatcher, callbackAllowedHosts: config.callbackAllowedHosts, callbackTimeoutMs: CALLBACK_TIMEOUT_MS }),
    api: createApi({ config, backends: clients }),
    backends: clients,
  };
}
