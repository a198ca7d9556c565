import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The real Bicep CLI (tools/bicep, restored from NuGet on first use) evaluating infra/main.bicep
 * the way a deployment would: `bicep snapshot` expands every module and evaluates every
 * expression it can without Azure (names, properties, conditions, loops), for given parameter
 * values or for what azd makes of infra/main.parameters.json in a given azd environment.
 */

interface Diagnostic {
  code: string;
  level: string;
  message: string;
  file: string;
  line: number;
  column: number;
}
interface BicepTools {
  bicepPath(): string;
  runBicep(command: string, file: string, extraArgs?: string[]): { status: number; stdout: string; diagnostics: Diagnostic[]; otherOutput: string };
  formatDiagnostic(diagnostic: Diagnostic): string;
}
interface AzdParams {
  azdParameterValues(parametersFile: string, template: ArmTemplate, env: Record<string, string>): Record<string, unknown>;
  bicepParamText(bicepFile: string, values: Record<string, unknown>, fromDir: string): string;
}
// Plain CommonJS shared with tools/bicep/check.js, which runs without a TypeScript build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tools = require('../../tools/bicep/bicep.js') as BicepTools;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const azdParams = require('../../tools/bicep/azd-params.js') as AzdParams;

export interface ArmTemplate {
  parameters: Record<string, { type: string; defaultValue?: unknown; allowedValues?: unknown[] }>;
}

export interface PredictedResource {
  id: string;
  type: string;
  name: string;
  location?: string;
  kind?: string;
  tags?: Record<string, string>;
  // The snapshot's JSON: shapes differ per resource type.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  properties?: any;
}

const root = join(__dirname, '..', '..');
export const MAIN_BICEP = join(root, 'infra', 'main.bicep');
export const PARAMETERS_FILE = join(root, 'infra', 'main.parameters.json');
const SUBSCRIPTION_ID = '00000000-0000-0000-0000-0000000000aa';
const TENANT_ID = '00000000-0000-0000-0000-0000000000bb';

/** What `azd env new` + `azd env set AAS_CLIENT_ID ...` + `azd up` put in the environment of a person. */
export const PERSON_AZD_ENV: Readonly<Record<string, string>> = {
  AZURE_ENV_NAME: 'aasrefresh-dev',
  AZURE_LOCATION: 'westeurope',
  AZURE_SUBSCRIPTION_ID: SUBSCRIPTION_ID,
  AZURE_PRINCIPAL_ID: '11111111-1111-1111-1111-111111111111',
  AZURE_PRINCIPAL_TYPE: 'User',
  AAS_CLIENT_ID: '22222222-2222-2222-2222-222222222222',
};

function problems(diagnostics: Diagnostic[]): string[] {
  return diagnostics.filter((diagnostic) => diagnostic.level === 'error').map(tools.formatDiagnostic);
}

let compiled: ArmTemplate | undefined;

/** infra/main.bicep compiled to an ARM template (compiled once per test file). */
export function compiledMain(): ArmTemplate {
  if (compiled === undefined) {
    const build = tools.runBicep('build', MAIN_BICEP, ['--stdout']);
    if (build.status !== 0) throw new Error(`infra/main.bicep does not compile:\n${problems(build.diagnostics).join('\n') || build.otherOutput}`);
    compiled = JSON.parse(build.stdout) as ArmTemplate;
  }
  return compiled;
}

/** The resources a deployment of infra/main.bicep with these parameter values would create. */
export function predictedResources(values: Record<string, unknown>): PredictedResource[] {
  const scratch = mkdtempSync(join(tmpdir(), 'bicep-snapshot-'));
  try {
    const paramFile = join(scratch, 'deployment.bicepparam');
    writeFileSync(paramFile, azdParams.bicepParamText(MAIN_BICEP, values, scratch));
    const location = typeof values.location === 'string' ? values.location : 'westeurope';
    const run = spawnSync(
      tools.bicepPath(),
      ['snapshot', paramFile, '--mode', 'overwrite', '--subscription-id', SUBSCRIPTION_ID, '--tenant-id', TENANT_ID, '--location', location],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (run.status !== 0) throw new Error(`bicep snapshot failed (exit ${String(run.status)}):\n${run.stdout}${run.stderr}`);
    const snapshot = JSON.parse(readFileSync(join(scratch, 'deployment.snapshot.json'), 'utf8')) as { predictedResources: PredictedResource[] };
    return snapshot.predictedResources;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The parameter values azd passes for this azd environment (infra/main.parameters.json substituted). */
export function azdParameters(env: Readonly<Record<string, string>>): Record<string, unknown> {
  return azdParams.azdParameterValues(PARAMETERS_FILE, compiledMain(), { ...env });
}

/** The resources `azd up` in this azd environment would create. */
export function azdDeployment(env: Readonly<Record<string, string>>): PredictedResource[] {
  return predictedResources(azdParameters(env));
}

export function ofType(resources: PredictedResource[], type: string): PredictedResource[] {
  return resources.filter((resource) => resource.type.toLowerCase() === type.toLowerCase());
}

export function single(resources: PredictedResource[], type: string): PredictedResource {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${found.map((resource) => resource.name).join(', ')}`);
  return found[0] as PredictedResource;
}

/** The Function App's app settings as deployed (Microsoft.Web/sites/config "appsettings"). */
export function appSettingsOf(resources: PredictedResource[]): Record<string, string> {
  const config = ofType(resources, 'Microsoft.Web/sites/config').find((resource) => resource.name.endsWith('/appsettings'));
  if (config === undefined) throw new Error('no Microsoft.Web/sites/config appsettings resource in the deployment');
  return config.properties as Record<string, string>;
}
