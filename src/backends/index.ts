import type { RefreshBackend } from '../refresh/port';
import { createBackendRegistry, registered } from '../refresh/registry';
import { aasBackend } from './aas';
import { powerBiBackend } from './powerbi';

/**
 * Every backend adapter this build has. An adapter registers by being listed here (one line);
 * a request for a backend without one answers 400 BACKEND_NOT_AVAILABLE.
 */
export const BACKEND_ADAPTERS: readonly RefreshBackend[] = [
  registered(aasBackend),
  registered(powerBiBackend),
];

/** The app's registry: the API, the request schema and the activities find a target's adapter here. */
export const backends = createBackendRegistry(BACKEND_ADAPTERS);
