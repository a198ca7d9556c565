import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunView } from '../src/api/runView';
import { startDevStack, type DevStack } from './devStack';
import { SAMPLE_DATASET_ID, SAMPLE_DATASET_NAME, SAMPLE_WORKSPACE_NAME } from './emulators/powerbi';

// `npm run demo`: starts everything on free ports, refreshes the sample model on AAS and then the
// sample semantic model on Power BI, each with its objects' progress live, then its replica sync,
// then a summary. Durations are shortened to seconds.
const MODEL = 'AdventureWorks';
const TABLE_DURATIONS_MS: Record<string, number> = { DimCustomer: 6000, DimDate: 2000, DimProduct: 4000, DimProductCategory: 2000, DimGeography: 3000, DimCurrency: 2000, FactInternetSales: 5000, FactResellerSales: 4000 };
const SYNC_DURATION_MS = 5000;

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aas-refresh-demo-'));
  const stack = await startDevStack({ port: 0, emulatorPorts: { aas: 0, identity: 0, powerbi: 0 }, stateDir, log: () => undefined, readLocalSettings: false });
  try {
    const { aas, powerbi } = stack.emulators;
    for (const [table, durationMs] of Object.entries(TABLE_DURATIONS_MS)) {
      aas.setTable('myserver', MODEL, table, { durationMs });
      powerbi.setTable(SAMPLE_DATASET_ID, table, { durationMs });
    }
    aas.setSyncBehaviour('myserver', MODEL, { durationMs: SYNC_DURATION_MS });
    powerbi.setSyncDurationMs(SYNC_DURATION_MS);

    const options = { type: 'full', maxParallelism: 4, sync: true, timeout: 'PT10M' };
    say('== Azure Analysis Services: a tabular model ==');
    await refreshAndShow(stack, { server: stack.sampleServer, model: MODEL, ...options }, 'AAS');
    say('\n== Power BI: a semantic model, named by workspace and model ==');
    await refreshAndShow(stack, { workspace: SAMPLE_WORKSPACE_NAME, semanticModel: SAMPLE_DATASET_NAME, ...options }, 'Power BI');
  } finally {
    await stack.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** POSTs the request, shows the run's progress until it ends, then a summary. */
async function refreshAndShow(stack: DevStack, body: Record<string, unknown>, service: string): Promise<void> {
  const headers = { 'x-functions-key': stack.functionKey, 'content-type': 'application/json' };
  say(`POST ${stack.apiBase}/refreshes ${JSON.stringify(body)}`);
  const started = await fetch(`${stack.apiBase}/refreshes`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (started.status !== 202) throw new Error(`the app answered ${started.status}: ${await started.text()}`);
  const accepted = (await started.json()) as { id: string; statusUrl: string };
  say(`${started.status} ${started.statusText}: run ${accepted.id}\n  Location: ${started.headers.get('location') ?? ''}\n`);

  const shownObjectStatus = new Map<string, string>();
  let last = '';
  let view: RunView;
  let httpStatus: number;
  for (;;) {
    const response = await fetch(accepted.statusUrl, { headers });
    httpStatus = response.status;
    view = (await response.json()) as RunView;
    const frame = render(view, service, shownObjectStatus);
    // The run line alone, unchanged, is not news; changed objects always are.
    const runLine = frame.split('\n')[0] ?? '';
    if (runLine !== last || frame.includes('\n')) {
      say(`[${new Date().toISOString().slice(11, 19)}] ${frame}`);
      last = runLine;
    }
    if (response.status !== 202) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const seconds = (Date.parse(view.endedAt ?? view.lastUpdatedAt) - Date.parse(view.createdAt)) / 1000;
  say(
    [
      '',
      `Summary: ${view.status} (HTTP ${httpStatus}) in ${seconds.toFixed(1)} s`,
      ...(view.backend === 'powerbi' ? [`  workspace ${view.workspace} (${view.workspaceId ?? '-'}), semantic model ${view.semanticModel} (${view.semanticModelId ?? '-'})`] : []),
      `  ${service} refresh ${view.refreshId ?? '-'}: ${view.refreshStatus ?? '-'}, ${view.objects.length} objects`,
      `  replica sync ${view.syncOperationId ?? '-'}: ${view.syncStatus ?? '-'}${view.syncState === undefined ? '' : ` (AAS syncstate ${view.syncState})`}`,
      `  status calls to ${service}: ${view.statusCalls}`,
      ...(view.error === undefined ? [] : [`  error ${view.error.code}: ${view.error.message}`]),
    ].join('\n'),
  );
}

/** One line for the run, then the objects whose status changed since the last frame. */
function render(view: RunView, service: string, shownObjectStatus: Map<string, string>): string {
  const lines = [`run ${view.status}${view.refreshStatus === undefined ? '' : `, ${service} ${view.refreshStatus}`}${view.syncStatus === undefined ? '' : `, sync ${view.syncStatus}`}`];
  for (const object of view.objects) {
    const name = `${object.table}${object.partition !== undefined && object.partition !== object.table ? ` / ${object.partition}` : ''}`;
    if (shownObjectStatus.get(name) === object.status) continue;
    shownObjectStatus.set(name, object.status);
    lines.push(`    ${name.padEnd(48)} ${object.status}`);
  }
  return lines.join('\n');
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
