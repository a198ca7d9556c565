// Stages the Function App package: the compiled app and its production dependencies only, in
// dist/deploy-package (azure.yaml `dist:` points azd there; the GitHub workflow zips the same
// folder). azd zips a Node project's folder as it is and prunes nothing (Azure/azure-dev
// cli/azd/pkg/project/framework_service_node.go Package, project_utils.go createDeployableZip), so
// without this it would ship jest, eslint, typescript and a better-sqlite3 built for this machine.
//
//   node tools/package/stage.js [--no-build]
//
// stage({ build, distDir, outDir }) does the same from code (test/infra/package.test.ts).
//
// Installs from package-lock.json (`npm ci --omit=dev --ignore-scripts`: the same versions as
// development, no install scripts; the production dependencies are plain JavaScript).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const packageDir = path.join(root, 'dist', 'deploy-package');
// What the Functions host needs: host.json, package.json ("main": dist/src/index.js), the compiled
// app; package-lock.json only so that npm ci installs exactly the locked versions.
const COPIED = ['host.json', 'package.json', 'package-lock.json'];

function npm(args, cwd) {
  const npmCli = process.env.npm_execpath;
  // Under `npm run`, npm_execpath is npm's own CLI: run it with this Node. Otherwise use npm on PATH.
  if (npmCli && /npm-cli\.js$/.test(npmCli)) execFileSync(process.execPath, [npmCli, ...args], { cwd, stdio: 'inherit' });
  else execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
}

function sizeOf(dir) {
  let files = 0;
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = sizeOf(full);
      files += inner.files;
      bytes += inner.bytes;
    } else if (entry.isFile()) {
      files += 1;
      bytes += fs.statSync(full).size;
    }
  }
  return { files, bytes };
}

function stage({ build = true, distDir = path.join(root, 'dist'), outDir = packageDir } = {}) {
  const out = outDir;
  if (build) npm(['run', 'build'], root);
  const entry = path.join(distDir, 'src', 'index.js');
  if (!fs.existsSync(entry)) throw new Error(`${path.relative(root, entry)} is missing: run \`npm run build\` first`);

  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  for (const file of COPIED) fs.copyFileSync(path.join(root, file), path.join(out, file));
  // The compiled app without source maps (they would only add size; stack traces stay readable).
  fs.cpSync(path.join(distDir, 'src'), path.join(out, 'dist', 'src'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  npm(['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], out);
  fs.rmSync(path.join(out, 'package-lock.json'));
  fs.rmSync(path.join(out, 'node_modules', '.package-lock.json'), { force: true });

  const { files, bytes } = sizeOf(out);
  console.log(`staged ${path.relative(root, out) || out}: ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MB (production dependencies only)`);
  return out;
}

module.exports = { stage, packageDir };

if (require.main === module) {
  stage({ build: !process.argv.includes('--no-build') });
}
