// Builds the status page (web/) into dist/src/web: index.html, app.js (one bundle, no source map),
// app.css and icon.svg. tools/package/stage.js ships dist/src, so the page goes out with the app; nothing
// is fetched from another origin at run time.
//
//   node web/build.js [outDir]
//
// The "what to do" of each error code is read from the table in docs/operations.md at build
// time, so the page and the operations guide say the same thing.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const defaultOutDir = path.join(root, 'dist', 'src', 'web');

/** Code -> "what to do", from the "Error codes ... and what to do" table of docs/operations.md. */
function errorGuidance(markdown) {
  const guidance = {};
  const plain = (cell) => cell.replace(/`([^`]*)`/g, '$1').replace(/\*\*([^*]*)\*\*/g, '$1').trim();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').slice(1, -1);
    if (cells.length !== 3) continue;
    // The code cell may say more after the code ("`AAS_CONFLICT` (kind conflict)").
    const code = /^`([A-Z_]+)`/.exec(cells[0].trim());
    if (code === null) continue;
    const todo = plain(cells[2]);
    guidance[code[1]] = { meaning: plain(cells[1]), todo: todo === '—' ? '' : todo };
  }
  return guidance;
}

async function buildStatusPage(outDir = defaultOutDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const guidance = errorGuidance(fs.readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8'));
  if (Object.keys(guidance).length === 0) throw new Error('docs/operations.md: no error-code table found for the status page');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'src', 'main.ts')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    format: 'iife',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    define: { ERROR_GUIDANCE: JSON.stringify(guidance) },
    logLevel: 'warning',
  });
  await esbuild.build({ entryPoints: [path.join(__dirname, 'src', 'app.css')], outfile: path.join(outDir, 'app.css'), bundle: true, minify: true, logLevel: 'warning' });
  for (const file of ['index.html', 'icon.svg']) fs.copyFileSync(path.join(__dirname, 'src', file), path.join(outDir, file));
  return outDir;
}

module.exports = { buildStatusPage, errorGuidance };

if (require.main === module) {
  buildStatusPage(process.argv[2]).catch((error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
