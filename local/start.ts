import { startDevStack } from './devStack';
import { SCENARIO_NAMES } from './emulators/aas';
import { SAMPLE_DATASET_NAME, SAMPLE_WORKSPACE_NAME } from './emulators/powerbi';

// `npm start`: the app on http://127.0.0.1:7071 with the embedded emulators as its AAS and Azure.
async function main(): Promise<void> {
  const stack = await startDevStack();
  const body = JSON.stringify({ server: stack.sampleServer, model: 'AdventureWorks', type: 'full', objects: [{ table: 'DimDate' }, { table: 'DimCurrency' }] });
  const powerBiBody = JSON.stringify({ workspace: SAMPLE_WORKSPACE_NAME, semanticModel: SAMPLE_DATASET_NAME, type: 'full', objects: [{ table: 'DimDate' }, { table: 'DimCurrency' }] });
  const lines = [
    '',
    `AAS refresh service on ${stack.apiBase} (local durable host; state in .local/durable)`,
    `  functions: ${stack.host.functions.join(', ')}`,
    `  AAS emulator ${stack.emulators.aas.url}, identity emulator ${stack.emulators.identity.url} (auth mode ${process.env.AUTH_MODE ?? 'keyVault'})`,
    `  Power BI emulator ${stack.emulators.powerbi.apiBase} (workspace "${SAMPLE_WORKSPACE_NAME}", semantic model "${SAMPLE_DATASET_NAME}"; local/emulators/README.md)`,
    '',
    'Refresh the sample model:',
    `  curl -si -X POST ${stack.apiBase}/refreshes -H 'x-functions-key: ${stack.functionKey}' -H 'content-type: application/json' -d '${body}'`,
    'or the same model as a Power BI semantic model:',
    `  curl -si -X POST ${stack.apiBase}/refreshes -H 'x-functions-key: ${stack.functionKey}' -H 'content-type: application/json' -d '${powerBiBody}'`,
    'Then follow the Location header:',
    `  curl -s ${stack.apiBase}/refreshes/<id> -H 'x-functions-key: ${stack.functionKey}'`,
    '',
    `Callbacks: add "callbackUrl": "${stack.callbackSink}<any name>" to the request; see what arrived with`,
    `  curl -s --cacert ${stack.emulators.tls.caPath} ${stack.emulators.aas.url}/_emulator/callbacks`,
    `Failures to try (README, "Trying failures locally"): curl -s --cacert ${stack.emulators.tls.caPath} -X POST ${stack.emulators.aas.url}/_emulator/scenarios/<name>`,
    `  ${SCENARIO_NAMES.join(', ')}; undo with POST ${stack.emulators.aas.url}/_emulator/reset${stack.scenarios.length > 0 ? ` (applied at start: ${stack.scenarios.join(', ')})` : ''}`,
    '',
    'Ctrl+C stops it.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => {
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
