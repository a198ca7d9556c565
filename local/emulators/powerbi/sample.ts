import { createHash } from 'node:crypto';
import sampleModel from '../engine/sampleModel.json';
import type { EmulatorModelDescription, TableDescription } from '../engine/refreshEngine';

export type WorkspaceRole = 'Admin' | 'Member' | 'Contributor' | 'Viewer';

/** Workspaces (groups), their capacity, who holds which role, and their semantic models (datasets). */
export interface PowerBiDescription {
  workspaces: PowerBiWorkspaceDescription[];
}

export interface PowerBiWorkspaceDescription {
  /** GUID */
  id: string;
  name: string;
  /** Capacity SKU (F2 … F2048, P1 … P5, A1 … A8, EM1 … EM3): how many refreshes it runs at once. Default F64. */
  sku?: string;
  /** Workspaces naming the same capacity share it (and its refresh limit; give them the same sku). Default: its own. */
  capacity?: string;
  /** Role per service principal (its application/client id, the token's `appid`). */
  roles: Record<string, WorkspaceRole>;
  datasets: PowerBiDatasetDescription[];
}

export interface PowerBiDatasetDescription {
  /** GUID */
  id: string;
  name: string;
  tables: TableDescription[];
  /** queryScaleOutSettings.autoSyncReadOnlyReplicas; default true (the service's default). */
  autoSyncReadOnlyReplicas?: boolean;
  /** queryScaleOutSettings.maxReadOnlyReplicas: -1 automatic (default), 0 scale-out off, up to 64. */
  maxReadOnlyReplicas?: number;
}

export const SAMPLE_WORKSPACE_ID = '5a1e5a1e-0000-4000-8000-00000000b001';
export const SAMPLE_WORKSPACE_NAME = 'Sales Analytics';
export const SAMPLE_DATASET_ID = 'ad7e0000-0000-4000-8000-00000000d001';
export const SAMPLE_DATASET_NAME = 'AdventureWorks';
/**
 * A name with a quote, for OData quoting ('' inside the literal), on an F2 capacity (one refresh at
 * a time), with two models of the same name (resolving the name is ambiguous; the second has
 * auto-sync off).
 */
export const SMALL_WORKSPACE_ID = '5a1e5a1e-0000-4000-8000-00000000b002';
export const SMALL_WORKSPACE_NAME = "O'Brien Reports";
export const SMALL_DATASET_IDS = ['ad7e0000-0000-4000-8000-00000000d002', 'ad7e0000-0000-4000-8000-00000000d003'] as const;
/** The service principal is only a Viewer here: it may read but not refresh (403). */
export const VIEWER_WORKSPACE_ID = '5a1e5a1e-0000-4000-8000-00000000b003';
export const VIEWER_WORKSPACE_NAME = 'Viewers Only';
export const VIEWER_DATASET_ID = 'ad7e0000-0000-4000-8000-00000000d004';

const sampleTables = (): TableDescription[] => (sampleModel.servers[0]?.models[0]?.tables ?? []).map((table) => ({ ...table }));

/** The sample workspaces, with `servicePrincipalId` holding the roles the names say. */
export function samplePowerBi(servicePrincipalId: string): PowerBiDescription {
  return {
    workspaces: [
      {
        id: SAMPLE_WORKSPACE_ID,
        name: SAMPLE_WORKSPACE_NAME,
        sku: 'F64',
        roles: { [servicePrincipalId]: 'Member' },
        datasets: [{ id: SAMPLE_DATASET_ID, name: SAMPLE_DATASET_NAME, tables: sampleTables() }],
      },
      {
        id: SMALL_WORKSPACE_ID,
        name: SMALL_WORKSPACE_NAME,
        sku: 'F2',
        roles: { [servicePrincipalId]: 'Contributor' },
        datasets: [
          { id: SMALL_DATASET_IDS[0], name: 'AdventureWorks', tables: sampleTables() },
          { id: SMALL_DATASET_IDS[1], name: 'AdventureWorks', tables: sampleTables(), autoSyncReadOnlyReplicas: false },
        ],
      },
      {
        id: VIEWER_WORKSPACE_ID,
        name: VIEWER_WORKSPACE_NAME,
        sku: 'F64',
        roles: { [servicePrincipalId]: 'Viewer' },
        datasets: [{ id: VIEWER_DATASET_ID, name: 'AdventureWorks', tables: sampleTables() }],
      },
    ],
  };
}

/**
 * Model refresh parallelism per SKU (powerbi-docs "Power BI capacity table": F2 1, F4 2, F8 5,
 * F16 10, F32 20, F64 40, then doubling; EM1/A1 = F8, EM2/A2 = F16, EM3/A3 = F32, P1/A4 = F64 …
 * P5/A8 = F1024).
 */
const SKU_PARALLELISM: Record<string, number> = {
  F2: 1, F4: 2, F8: 5, F16: 10, F32: 20, F64: 40, F128: 80, F256: 160, F512: 320, F1024: 640, F2048: 1280,
  P1: 40, P2: 80, P3: 160, P4: 320, P5: 640,
  A1: 5, A2: 10, A3: 20, A4: 40, A5: 80, A6: 160, A7: 320, A8: 640,
  EM1: 5, EM2: 10, EM3: 20,
};

export function refreshParallelismOf(sku: string): number {
  const limit = SKU_PARALLELISM[sku.toUpperCase()];
  if (limit === undefined) throw new Error(`Power BI emulator: unknown capacity SKU "${sku}" (${Object.keys(SKU_PARALLELISM).join(', ')})`);
  return limit;
}

/** A GUID that is always the same for the same text (name-based, RFC 4122 version 5 layout). */
export function stableGuid(text: string): string {
  const hex = createHash('sha1').update(`powerbi-emulator:${text}`).digest('hex');
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The AAS description served by Power BI too, so one suite can run against both backends: each
 * server becomes a workspace named like it, each model a semantic model with the same tables.
 * Ids are stable (stableGuid of the names). The capacity is F2048 unless told, so that suites
 * running many models at once are not queued by the capacity (the sample shows the F2 limit).
 */
export function powerBiMirrorOf(models: EmulatorModelDescription, servicePrincipalId: string, sku = 'F2048'): PowerBiDescription {
  return {
    workspaces: models.servers.map((server) => ({
      id: stableGuid(`workspace:${server.name.toLowerCase()}`),
      name: server.name,
      sku,
      roles: { [servicePrincipalId]: 'Member' as const },
      datasets: server.models.map((model) => ({ id: stableGuid(`dataset:${server.name.toLowerCase()}/${model.name}`), name: model.name, tables: model.tables.map((table) => ({ ...table })) })),
    })),
  };
}
