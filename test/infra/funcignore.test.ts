import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * .funcignore uses gitignore semantics (azd and Core Tools). git itself evaluates it here against
 * a scratch tree: what is listed is what would be deployed.
 */
const root = join(__dirname, '..', '..');

const files = [
  'host.json',
  'package.json',
  'dist/src/index.js',
  'dist/src/functions/refreshes.js',
  'node_modules/durable-functions/lib/src/index.js',
  'node_modules/zod/index.d.ts',
  'dist/local/start.js',
  'dist/bench/index.js',
  'dist/src/index.js.map',
  'src/index.ts',
  'local/start.ts',
  'test/infra/settingsDrift.test.ts',
  'infra/main.bicep',
  'docs/deploy.md',
  'samples/curl.sh',
  'local.settings.json',
  '.azure/dev/.env',
  '.github/workflows/ci-cd.yml',
  'azure.yaml',
  'tsconfig.json',
  'tools/bicep/bicep.csproj',
  'dist/deploy-package/host.json',
  'tools/bicep/packages/azure.bicep.commandline.linux-x64/0.49.2/tools/bicep',
  // .NET build output of the real-engine host and the NCrontab oracle.
  'local/real-engine/host/bin/Debug/net10.0/RealEngineHost.dll',
  'local/real-engine/host/obj/project.assets.json',
  'test/oracles/ncrontab/bin/Debug/net10.0/NcrontabOracle.dll',
  '.npmrc',
];

function deployedFiles(): string[] {
  const tree = mkdtempSync(join(tmpdir(), 'funcignore-'));
  const gitDir = mkdtempSync(join(tmpdir(), 'funcignore-git-'));
  try {
    for (const file of files) {
      mkdirSync(dirname(join(tree, file)), { recursive: true });
      writeFileSync(join(tree, file), '');
    }
    copyFileSync(join(root, '.funcignore'), join(tree, '.funcignore'));
    execFileSync('git', ['init', '-q', '--bare', gitDir]);
    const out = execFileSync('git', [`--git-dir=${gitDir}`, `--work-tree=${tree}`, 'ls-files', '--others', '--exclude-from=.funcignore'], { cwd: tree, encoding: 'utf8' });
    return out.split('\n').filter((line) => line !== '').sort();
  } finally {
    rmSync(tree, { recursive: true, force: true });
    rmSync(gitDir, { recursive: true, force: true });
  }
}

test('.funcignore keeps the compiled app and production dependencies, and drops sources, tests, tooling and secrets', () => {
  expect(deployedFiles()).toEqual([
    'dist/src/functions/refreshes.js',
    'dist/src/index.js',
    'host.json',
    'node_modules/durable-functions/lib/src/index.js',
    'node_modules/zod/index.d.ts',
    'package.json',
  ]);
});
