import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunView } from '../src/api/runView';
import { startDevStack } from './devStack';

// `npm run demo`: starts everything on free ports, refreshes the sample model, shows each object's
// progress live, then the replica sync, then a summary. Durations are shortened to seconds.
const MODEL = 'AdventureWorks';

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aas-refresh-demo-'));
  const stack = await startDevStack({ port: 0, emulatorPorts: { aas: 0, identity: 0 }, stateDir, log: () => undefined, readLocalSettings: false });
  try {
    const aas = stack.emulators.aas;
    const durations: Record<string, number> = { DimCustomer: 6000, DimDate: 2000, DimProduct: 4000, DimProductCategory: 2000, DimGeography: 3000, DimCurrency: 2000, FactInternetSales: 5000, FactResellerSales: 4000 };
    for (const [table, durationMs] of Object.entries(durations)) aas.setTable('myserver', MODEL, table, { durationMs });
    aas.setSyncBehaviour('myserver', MODEL, { durationMs: 5000 });

    const headers = { 'x-functions-key': stack.functionKey, 'content-type': 'application/json' };
    const body = { server: stack.sampleServer, model: MODEL, type: 'full', maxParallelism: 4, sync: true, timeout: 'PT10M' };
    say(`POST ${stack.apiBase}/refreshes ${JSON.stringify(body)}`);
    const started = await fetch(`${stack.apiBase}/refreshes`, { method: 'POST', headers, body: JSON.stringify(body) });
    const accepted = (await started.json()) as { id: string; statusUrl: string };
    say(`${started.status} ${started.statusText}: run ${accepted.id}\n  Location: ${started.headers.get('location') ?? ''}\n`);

    let last = '';
    let view: RunView;
    let httpStatus: number;
    for (;;) {
      const response = await fetch(accepted.statusUrl, { headers });
      httpStatus = response.status;
      view = (await response.json()) as RunView;
      const frame = render(view);
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
        `  AAS refresh ${view.refreshId ?? '-'}: ${view.aasStatus ?? '-'}, ${view.objects.length} objects`,
        `  replica sync ${view.syncOperationId ?? '-'}: syncstate ${view.syncState ?? '-'}`,
        `  status calls to AAS: ${view.statusCalls}`,
        ...(view.error === undefined ? [] : [`  error ${view.error.code}: ${view.error.message}`]),
      ].join('\n'),
    );
  } finally {
    await stack.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** One line for the run, then the objects whose status changed since the last frame. */
const shownObjectStatus = new Map<string, string>();
function render(view: RunView): string {
  const lines = [`run ${view.status}${view.aasStatus === undefined ? '' : `, AAS ${view.aasStatus}`}${view.syncState === undefined ? '' : `, syncstate ${view.syncState}`}`];
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
