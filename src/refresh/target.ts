/**
 * What a run refreshes, whatever the service: an Azure Analysis Services model or a Power BI /
 * Fabric semantic model. Requests, orchestration inputs and activity inputs carry one of these.
 * Inputs written before the backend port have no `backend` and read as AAS (see `readTarget`).
 */

export const BACKENDS = ['aas', 'powerbi'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** An AAS model: `server` is the `asazure://<region>.asazure.windows.net/<serverName>` name. */
export interface AasTarget {
  backend: 'aas';
  server: string;
  model: string;
}

/**
 * A Power BI / Fabric semantic model: `workspace` and `semanticModel` as the caller gave them
 * (a GUID or a name). The ids are resolved once, when the run is accepted, and recorded with it:
 * every call and the one-run-per-model key use the ids.
 */
export interface PowerBiTarget {
  backend: 'powerbi';
  workspace: string;
  semanticModel: string;
  /** The workspace (group) id the run resolved, lower-case GUID. */
  workspaceId?: string;
  /** The semantic model (dataset) id the run resolved, lower-case GUID. */
  semanticModelId?: string;
}

export type RefreshTarget = AasTarget | PowerBiTarget;

/** The part of an AAS target written before the port: `{ server, model }` without `backend`. */
export interface LegacyModelRef {
  server: string;
  model: string;
}

/**
 * Reads a target from anything stored: a `RefreshTarget`, or a legacy `{ server, model }`
 * (orchestration and activity inputs written before the backend port), which is AAS. Returns
 * undefined when the value names no target. Extra fields (a request's `refresh`, `sync`, ...) are
 * left out of the result.
 */
export function readTarget(value: unknown): RefreshTarget | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const backend = record.backend ?? 'aas';
  if (backend === 'aas') {
    return typeof record.server === 'string' && typeof record.model === 'string' ? { backend: 'aas', server: record.server, model: record.model } : undefined;
  }
  if (backend === 'powerbi') {
    if (typeof record.workspace !== 'string' || typeof record.semanticModel !== 'string') return undefined;
    return {
      backend: 'powerbi',
      workspace: record.workspace,
      semanticModel: record.semanticModel,
      ...(typeof record.workspaceId === 'string' ? { workspaceId: record.workspaceId } : {}),
      ...(typeof record.semanticModelId === 'string' ? { semanticModelId: record.semanticModelId } : {}),
    };
  }
  return undefined;
}

/** The target in words, for messages and logs: `asazure://…/srv model "M"`, `workspace "W" semantic model "S"`. */
export function describeTarget(target: RefreshTarget): string {
  return target.backend === 'aas' ? `${target.server} model "${target.model}"` : `workspace "${target.workspace}" semantic model "${target.semanticModel}"`;
}

/** The service's name as people read it. */
export function backendLabel(backend: BackendName): string {
  return backend === 'aas' ? 'AAS' : 'Power BI';
}

/** Log attributes naming the target (no secret in any of them). */
export function targetAttributes(target: RefreshTarget): Record<string, string> {
  return target.backend === 'aas'
    ? { backend: 'aas', server: target.server, model: target.model }
    : { backend: 'powerbi', workspace: target.workspaceId ?? target.workspace, semanticModel: target.semanticModelId ?? target.semanticModel };
}
