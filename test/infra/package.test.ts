import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The deployed package (tools/package/stage.js, used by azd's prepackage hook and the workflow):
 * the compiled app and production dependencies installed from the lockfile, nothing else. Staged
 * here from a stand-in compiled app (the package's contents do not depend on what the app does).
 */

// Plain CommonJS, run by azd and the workflow without a TypeScript build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { stage } = require('../../tools/package/stage.js') as { stage(options: { build: boolean; distDir: string; outDir: string }): string };

const root = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

let scratch: string;
let staged: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stage-'));
  const distDir = join(scratch, 'dist');
  mkdirSync(join(distDir, 'src', 'functions'), { recursive: true });
  writeFileSync(join(distDir, 'src', 'index.js'), "require('./functions/refreshes');\n");
  writeFileSync(join(distDir, 'src', 'index.js.map'), '{}');
  writeFileSync(join(distDir, 'src', 'functions', 'refreshes.js'), '');
  staged = stage({ build: false, distDir, outDir: join(scratch, 'package') });
}, 300_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

test('the package holds host.json, package.json, the compiled app without source maps, and node_modules', () => {
  expect(readdirSync(staged).sort()).toEqual(['dist', 'host.json', 'node_modules', 'package.json']);
  expect(readdirSync(join(staged, 'dist', 'src')).sort()).toEqual(['functions', 'index.js']);
});

test('no devDependency is shipped (jest, eslint, typescript, the SQLite addon built for this machine, ...)', () => {
  const shipped = Object.keys(manifest.devDependencies).filter((name) => existsSync(join(staged, 'node_modules', name)));
  expect(shipped).toEqual([]);
  expect(existsSync(join(staged, 'node_modules', 'better-sqlite3'))).toBe(false);
});

test('every production dependency is there and loads from the package', () => {
  const script = Object.keys(manifest.dependencies).map((name) => `require.resolve(${JSON.stringify(name)});`).join('');
  expect(() => execFileSync(process.execPath, ['-e', script], { cwd: staged, stdio: 'pipe' })).not.toThrow();
});
