import { Agent } from 'undici';
import { createActivities, type Activities } from './activities/activities';
import { createAasClient } from './aas/client';
import { createApi, type Api } from './api/handlers';
import { createTokenProvider } from './auth';
import { loadConfig, type Config } from './config/config';

/** The one composition root: settings read once, clients built once, passed down. */
export interface Services {
  config: Config;
  activities: Activities;
  api: Api;
}

const CALLBACK_TIMEOUT_MS = 30_000;

export function createServices(config: Config): Services {
  const tokenProvider = createTokenProvider(config.auth);
  const aas = createAasClient({ allowedHosts: config.aas.allowedHosts, tokenProvider, requestTimeoutMs: config.aas.requestTimeoutMs });
  const callbackDispatcher = new Agent({ connectTimeout: CALLBACK_TIMEOUT_MS, headersTimeout: CALLBACK_TIMEOUT_MS, bodyTimeout: CALLBACK_TIMEOUT_MS });
  return {
    config,
    activities: createActivities({ aas, callbackDispatcher, callbackAllowedHosts: config.callbackAllowedHosts, callbackTimeoutMs: CALLBACK_TIMEOUT_MS }),
    api: createApi({ config, aas }),
  };
}

let services: Services | undefined;

/** Built on first use at start-up; a wrong setting stops the app with the setting's name. */
export function getServices(): Services {
  services ??= createServices(loadConfig(process.env));
  return services;
}
