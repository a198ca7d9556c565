import { AppError, ErrorCodes } from '../errors';
import type { BackendClient, BackendDependencies, RefreshBackend } from './port';
import { backendLabel, type BackendName, type RefreshTarget } from './target';

type TargetOf<N extends BackendName> = Extract<RefreshTarget, { backend: N }>;

/** One adapter per backend name; `src/backends/index.ts` builds the app's registry from its list. */
export interface BackendRegistry {
  /** The registered backend names. */
  readonly names: readonly BackendName[];
  has(name: BackendName): boolean;
  /** The adapter of a target's backend; AppError BACKEND_NOT_AVAILABLE when this build has none. */
  forTarget<T extends RefreshTarget>(target: T): RefreshBackend<T>;
  get<N extends BackendName>(name: N): RefreshBackend<TargetOf<N>>;
}

/**
 * An adapter as the registry holds it. A `RefreshBackend<AasTarget>` takes only AAS targets, so it
 * is not a `RefreshBackend<RefreshTarget>`; the registry hands each adapter only targets of its own
 * backend (forTarget picks by `target.backend`), which makes this widening safe.
 */
export function registered<T extends RefreshTarget>(backend: RefreshBackend<T>): RefreshBackend {
  return backend as unknown as RefreshBackend;
}

export function createBackendRegistry(backends: readonly RefreshBackend[]): BackendRegistry {
  const byName = new Map<BackendName, RefreshBackend>();
  for (const backend of backends) {
    if (byName.has(backend.backend)) throw new Error(`Two adapters are registered for backend "${backend.backend}".`);
    byName.set(backend.backend, backend);
  }
  const get = (name: BackendName): RefreshBackend => {
    const backend = byName.get(name);
    if (backend === undefined) {
      throw new AppError(ErrorCodes.BACKEND_NOT_AVAILABLE, `${backendLabel(name)} targets are not available in this build of the app (no "${name}" adapter is registered).`);
    }
    return backend;
  };
  return {
    names: [...byName.keys()],
    has: (name) => byName.has(name),
    // The map holds each adapter under its own backend name, so the adapter of `name` takes that backend's targets.
    get: <N extends BackendName>(name: N) => get(name) as unknown as RefreshBackend<TargetOf<N>>,
    forTarget: <T extends RefreshTarget>(target: T) => get(target.backend) as unknown as RefreshBackend<T>,
  };
}

/** The clients of every registered backend, built once per app; `forTarget` picks a target's. */
export interface BackendClients {
  forTarget<T extends RefreshTarget>(target: T): BackendClient<T>;
  close(): Promise<void>;
}

export function createBackendClients(registry: BackendRegistry, deps: BackendDependencies): BackendClients {
  const clients = new Map<BackendName, BackendClient>();
  return {
    forTarget<T extends RefreshTarget>(target: T): BackendClient<T> {
      const backend = registry.forTarget(target);
      let client = clients.get(target.backend);
      if (client === undefined) {
        client = backend.createClient(deps) as unknown as BackendClient;
        clients.set(target.backend, client);
      }
      return client as unknown as BackendClient<T>;
    },
    async close() {
      await Promise.all([...clients.values()].map((client) => client.close()));
      clients.clear();
    },
  };
}
