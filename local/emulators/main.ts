import { explainPortInUse, portFrom } from '../ports';
import { parseScenarioSetting } from './aas';
import { parsePowerBiScenarioSetting, SAMPLE_DATASET_ID, SAMPLE_DATASET_NAME, SAMPLE_WORKSPACE_ID, SAMPLE_WORKSPACE_NAME } from './powerbi';
import { startEmulators } from '.';

// `npm run emulators`: the AAS, Power BI and identity emulators on fixed ports, for the app or a demo.
async function main(): Promise<void> {
  const ports = { aas: portFrom('AAS_EMULATOR_PORT', 8443), identity: portFrom('IDENTITY_EMULATOR_PORT', 8444), powerbi: portFrom('POWERBI_EMULATOR_PORT', 8445) };
  const scenarios = parseScenarioSetting(process.env.AAS_EMULATOR_SCENARIO);
  const powerBiScenarios = parsePowerBiScenarioSetting(process.env.POWERBI_EMULATOR_SCENARIO);
  const emulators = await startEmulators({ ports }).catch((error: unknown) => {
    throw explainPortInUse(error, { AAS_EMULATOR_PORT: ports.aas, IDENTITY_EMULATOR_PORT: ports.identity, POWERBI_EMULATOR_PORT: ports.powerbi });
  });
  for (const scenario of scenarios) emulators.aas.applyScenario(scenario);
  for (const scenario of powerBiScenarios) emulators.powerbi.applyScenario(scenario);
  const lines = [
    `AAS emulator:       ${emulators.aas.url}`,
    `Power BI emulator:  ${emulators.powerbi.apiBase}`,
    `Identity emulator:  ${emulators.identity.url} (managed identity, Entra ID, Key Vault)`,
    `Sample server name: ${emulators.aas.serverName()}`,
    `Sample workspace:   ${SAMPLE_WORKSPACE_NAME} (${SAMPLE_WORKSPACE_ID}), semantic model ${SAMPLE_DATASET_NAME} (${SAMPLE_DATASET_ID})`,
    `Trust this CA:      ${emulators.tls.caPath} (NODE_EXTRA_CA_CERTS)`,
    `Controls:           ${emulators.aas.url}/_emulator (scenarios, reset, callback sink)${scenarios.length > 0 ? `; applied: ${scenarios.join(', ')}` : ''}`,
    `                    ${emulators.powerbi.url}/_emulator (Power BI scenarios, reset)${powerBiScenarios.length > 0 ? `; applied: ${powerBiScenarios.join(', ')}` : ''}`,
    '',
    'App settings (local.settings.json "Values", or environment):',
    JSON.stringify(emulators.appSettings(), null, 2),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => {
    void emulators.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
