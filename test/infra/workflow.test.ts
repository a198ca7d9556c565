import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * The GitHub workflow and azure.yaml: a deploy is never cancelled half-way, the smoke test waits
 * out a host that is still starting, the test job compiles the Bicep, and both deploy paths ship
 * the staged production package. The workflow is read as text, job by job (two-space job keys).
 */

const root = join(__dirname, '..', '..');
const workflow = readFileSync(join(root, '.github', 'workflows', 'ci-cd.yml'), 'utf8');

/** The text of one job: from "  <name>:" to the next two-space key. */
function job(name: string): string {
  const lines = workflow.split('\n');
  const start = lines.findIndex((line) => line === `  ${name}:`);
  if (start < 0) throw new Error(`.github/workflows/ci-cd.yml has no job "${name}"`);
  const end = lines.findIndex((line, index) => index > start && /^ {2}\S/.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The workflow's top level (before `jobs:`). */
const topLevel = workflow.slice(0, workflow.indexOf('\njobs:'));

describe('workflow concurrency', () => {
  test('no workflow-level cancel-in-progress (it would cancel a running deploy with the run)', () => {
    expect(topLevel).not.toMatch(/^concurrency:/m);
  });

  test('the deploy job has its own concurrency group that does not cancel', () => {
    const deploy = job('deploy');
    expect(deploy).toMatch(/\n {4}concurrency:\n {6}group: .*deploy.*\n {6}cancel-in-progress: false\n/);
  });

  test('test and package jobs still give way to a newer push', () => {
    expect(job('test')).toMatch(/\n {4}concurrency:\n {6}group: .+\n {6}cancel-in-progress: true\n/);
    expect(job('package')).toMatch(/\n {4}concurrency:\n {6}group: .+\n {6}cancel-in-progress: true\n/);
  });
});

describe('workflow steps', () => {
  test('the test job compiles and lints the Bicep (npm run infra:check) before npm test', () => {
    const test = job('test');
    expect(test).toContain('run: npm run infra:check');
    expect(test.indexOf('npm run infra:check')).toBeLessThan(test.indexOf('run: npm test'));
  });

  test('the package job ships the staged production package, as azd does', () => {
    const pkg = job('package');
    expect(pkg).toContain('node tools/package/stage.js');
    expect(pkg).toContain('cd dist/deploy-package');
    expect(pkg).not.toContain('--exclude-from=.funcignore');
  });

  test('azure.yaml: azd zips dist/deploy-package, staged by the prepackage hook on every OS', () => {
    const azureYaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    expect(azureYaml).toMatch(/\n {4}dist: dist\/deploy-package\n/);
    expect(azureYaml).toMatch(/\n {6}prepackage:\n {8}posix:\n {10}shell: sh\n {10}run: node tools\/package\/stage\.js\n {8}windows:\n {10}shell: pwsh\n {10}run: node tools\/package\/stage\.js\n/);
  });

  test('the deploy job runs the smoke script against the deployed app', () => {
    expect(job('deploy')).toContain('.github/scripts/smoke.sh "https://${{ vars.AZURE_FUNCTION_APP_NAME }}.azurewebsites.net/api"');
  });
});

describe('smoke script (.github/scripts/smoke.sh) against a local HTTP server', () => {
  let server: Server;
  let answers: number[];
  let requests: string[];
  let base: string;

  beforeEach(async () => {
    requests = [];
    server = createServer((request, response) => {
      requests.push(`${request.method ?? ''} ${request.url ?? ''} key=${String(request.headers['x-functions-key'] ?? '')}`);
      response.statusCode = answers[Math.min(requests.length - 1, answers.length - 1)] ?? 500;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function smoke(attempts: number): Promise<{ exitCode: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [join(root, '.github', 'scripts', 'smoke.sh'), base], {
        env: { ...process.env, SMOKE_ATTEMPTS: String(attempts), SMOKE_DELAY_SECONDS: '0' },
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ exitCode, output }));
    });
  }

  test('retries 503 and 404 while the host starts, passes on the first 401', async () => {
    answers = [503, 404, 401];
    const result = await smoke(10);
    expect({ exitCode: result.exitCode, requests }).toEqual({ exitCode: 0, requests: ['GET /api/refreshes key=', 'GET /api/refreshes key=', 'GET /api/refreshes key='] });
  });

  test('fails after the last attempt when the host never answers 401', async () => {
    answers = [503];
    const result = await smoke(3);
    expect({ exitCode: result.exitCode, requests: requests.length }).toEqual({ exitCode: 1, requests: 3 });
    expect(result.output).toContain('no 401 after 3 attempts (last answer: 503)');
  });

  test('fails at once when the API answers without a key', async () => {
    answers = [200];
    const result = await smoke(10);
    expect({ exitCode: result.exitCode, requests: requests.length }).toEqual({ exitCode: 1, requests: 1 });
  });
});
