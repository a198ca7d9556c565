/**
 * A run as the app's API answers it (src/api/runView.ts), read tolerantly: the CLI may talk to an
 * app deployed from another version, so it declares only what it shows and accepts both
 * targets (AAS server + model, Power BI workspace + semanticModel) and both the neutral
 * (refreshStatus, syncStatus) and the AAS names (aasStatus, syncState).
 */
export interface CliRunView {
  id: string;
  status: string;
  backend?: string;
  server?: string;
  model?: string;
  workspace?: string;
  semanticModel?: string;
  source?: string;
  createdAt: string;
  lastUpdatedAt: string;
  startedAt?: string;
  endedAt?: string;
  refreshId?: string;
  refreshStartTime?: string;
  refreshStatus?: string;
  aasStatus?: string;
  objects: { table: string; partition?: string; status: string }[];
  objectCounts?: Record<string, number>;
  objectsTruncated?: boolean;
  messages?: { code?: string; message: string; type?: string }[];
  syncOperationId?: string;
  syncStatus?: string;
  syncState?: number;
  lastIssue?: { code: string; message: string };
  note?: string;
  error?: { code: string; message: string };
  callback?: { delivered: boolean; error?: string };
}

export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'timedOut']);

const powerBi = (view: CliRunView) => view.backend === 'powerbi' || (view.server === undefined && view.workspace !== undefined);

/** "Sales on asazure://…/server" or "Sales in workspace Finance". */
export function targetLabel(view: CliRunView): string {
  return powerBi(view) ? `${view.semanticModel ?? '?'} in workspace ${view.workspace ?? '?'}` : `${view.model ?? '?'} on ${view.server ?? '?'}`;
}

export function modelLabel(view: CliRunView): string {
  return (powerBi(view) ? view.semanticModel : view.model) ?? '?';
}

export function serviceName(view: CliRunView): 'AAS' | 'Power BI' {
  return powerBi(view) ? 'Power BI' : 'AAS';
}

/** The service's own word for the refresh: "AAS inProgress", "Power BI succeeded". */
export function serviceStatus(view: CliRunView): string | undefined {
  const status = view.refreshStatus ?? view.aasStatus;
  return status === undefined ? undefined : `${serviceName(view)} ${status}`;
}

const SYNC_STATES: Record<number, string> = { 0: 'replicating', 1: 'rehydrating', 2: 'completed', 3: 'failed', 4: 'finalizing' };

export function syncLabel(view: CliRunView): string | undefined {
  if (view.syncState !== undefined) return SYNC_STATES[view.syncState] ?? String(view.syncState);
  return view.syncStatus;
}
