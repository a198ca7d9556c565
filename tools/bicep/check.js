// `npm run infra:check` and the "infra" step of .ci/run: compile and lint infra/ with the pinned
// Bicep CLI (tools/bicep/bicep.csproj). Every warning fails, as an error does; the only way to
// accept one is a `#disable-next-line <code>` in the Bicep with a `//` comment on the line above
// saying why (checked here). The parameters file is checked the way azd uses it: substituted for
// sample azd environments (tools/bicep/azd-params.js), then compiled and linted as a .bicepparam.
//
//   node tools/bicep/check.js [--json <file>]
//
// Prints one line per check and "N passed, N failed" last; --json also writes the result in the
// shape of jest's --json output, which .ci/totals.js adds up.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { version, runBicep, formatDiagnostic } = require('./bicep');
const { azdParameterValues, bicepParamText } = require('./azd-params');

const root = path.join(__dirname, '..', '..');
const infra = path.join(root, 'infra');
const mainBicep = path.join(infra, 'main.bicep');
const parametersFile = path.join(infra, 'main.parameters.json');

/** azd environments the parameters file must work for (values a real `azd up` would have). */
const AZD_ENVIRONMENTS = {
  'a person runs azd up with the defaults': {
    AZURE_ENV_NAME: 'aasrefresh-dev',
    AZURE_LOCATION: 'westeurope',
    AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000001',
    AZURE_PRINCIPAL_ID: '11111111-1111-1111-1111-111111111111',
    AZURE_PRINCIPAL_TYPE: 'User',
    AAS_CLIENT_ID: '22222222-2222-2222-2222-222222222222',
  },
  'a pipeline service principal runs azd up with every optional setting': {
    AZURE_ENV_NAME: 'aasrefresh-prod',
    AZURE_LOCATION: 'northeurope',
    AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000001',
    AZURE_PRINCIPAL_ID: '33333333-3333-3333-3333-333333333333',
    AZURE_PRINCIPAL_TYPE: 'ServicePrincipal',
    AAS_CLIENT_ID: '22222222-2222-2222-2222-222222222222',
    AAS_TENANT_ID: '44444444-4444-4444-4444-444444444444',
    KEY_VAULT_SECRET_NAME: 'aas-sp-cert',
    AAS_ALLOWED_HOSTS: 'northeurope.asazure.windows.net',
    DEPLOY_ANALYSIS_SERVICES: 'true',
    DURABLE_BACKEND: 'durableTaskScheduler',
    DURABLE_ALWAYS_READY_INSTANCES: '0',
    FUNCTION_INSTANCE_MEMORY_MB: '512',
    KEY_VAULT_PURGE_PROTECTION: 'true',
  },
};

const results = [];

function record(title, problems) {
  results.push({ title, problems });
  console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${title}`);
  for (const problem of problems) console.log(`       ${problem.split('\n').join('\n       ')}`);
}

/** Diagnostics of a bicep run as problems: every error, warning and info, and a non-zero exit. */
function problemsOf(run) {
  const problems = run.diagnostics.map(formatDiagnostic);
  if (run.status !== 0 && problems.length === 0) problems.push(`bicep exited ${run.status}${run.otherOutput ? `: ${run.otherOutput}` : ''}`);
  return problems;
}

function bicepFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return bicepFiles(full);
    return entry.name.endsWith('.bicep') ? [full] : [];
  });
}

/** Every `#disable-next-line` needs a `//` comment directly above it that says why. */
function unjustifiedSuppressions(dir = infra) {
  const problems = [];
  for (const file of bicepFiles(dir)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (!/^\s*#disable-(next-line|diagnostics)\b/.test(line)) return;
      const above = lines[index - 1] ?? '';
      if (/^\s*#disable-diagnostics\b/.test(line)) {
        problems.push(`${path.relative(root, file)}:${index + 1}: #disable-diagnostics switches a warning off for the whole file; use #disable-next-line with a reason`);
      } else if (!/^\s*\/\/\s*\S/.test(above)) {
        problems.push(`${path.relative(root, file)}:${index + 1}: "${line.trim()}" has no "// why" comment on the line above`);
      }
    });
  }
  return problems;
}

function main() {
  const jsonIndex = process.argv.indexOf('--json');
  const jsonFile = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;
  console.log(`Bicep CLI ${version}`);

  let template;
  try {
    const build = runBicep('build', mainBicep, ['--stdout']);
    record('bicep build infra/main.bicep: no error, no warning', problemsOf(build));
    if (build.status === 0) template = JSON.parse(build.stdout);
    record('bicep lint infra/main.bicep: no error, no warning', problemsOf(runBicep('lint', mainBicep)));
  } catch (error) {
    record('bicep build and lint infra/main.bicep', [error.message]);
  }
  record('every #disable-next-line in infra/ says why', unjustifiedSuppressions());

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-check-'));
  try {
    for (const [scenario, env] of Object.entries(AZD_ENVIRONMENTS)) {
      const title = `infra/main.parameters.json as azd deploys it (${scenario}): build-params and lint clean`;
      if (template === undefined) {
        record(title, ['infra/main.bicep did not compile']);
        continue;
      }
      const paramFile = path.join(scratch, `${Object.keys(AZD_ENVIRONMENTS).indexOf(scenario)}.bicepparam`);
      fs.writeFileSync(paramFile, bicepParamText(mainBicep, azdParameterValues(parametersFile, template, env), scratch));
      // Diagnostics of main.bicep itself are the checks above; here only the parameters count.
      const ofParams = (run) => problemsOf({ ...run, diagnostics: run.diagnostics.filter((diagnostic) => path.resolve(diagnostic.file) === paramFile) });
      const problems = [...ofParams(runBicep('build-params', paramFile, ['--stdout'])), ...ofParams(runBicep('lint', paramFile))];
      record(title, problems);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const failed = results.filter((result) => result.problems.length > 0).length;
  const passed = results.length - failed;
  if (jsonFile) {
    const jestShape = {
      numPassedTests: passed,
      numFailedTests: failed,
      testResults: [
        {
          name: 'tools/bicep/check.js',
          status: failed === 0 ? 'passed' : 'failed',
          assertionResults: results.map((result) => ({ title: result.title, status: result.problems.length === 0 ? 'passed' : 'failed', failureMessages: result.problems })),
        },
      ],
    };
    fs.writeFileSync(jsonFile, JSON.stringify(jestShape, null, 2));
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

module.exports = { unjustifiedSuppressions, problemsOf };

if (require.main === module) main();
