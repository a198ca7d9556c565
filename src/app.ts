import { loadConfig, type Config } from './config/config';
import type { Services } from './services';

/**
 * The one composition root. Settings are read and checked when the app loads, so a wrong one
 * stops it at start-up with the setting's name; the clients (undici, the identity SDKs) are
 * built on the first invocation, which keeps cold starts short.
 */
let config: Config | undefined;
let services: Promise<Services> | undefined;

export function getConfig(): Config {
  config ??= loadConfig(process.env);
  return config;
}

export function getServices(): Promise<Services> {
  const settings = getConfig();
  services ??= import('./services').then((module) => module.createServices(settings));
  return services;
}
