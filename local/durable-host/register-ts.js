// Lets plain `node` require .ts files (the CLI, the app, fixtures) without a build step:
// `node -r ./local/durable-host/register-ts.js local/durable-host/cli.ts --entry app.ts`.
// Each file is transpiled on its own to CommonJS (no type-checking; that is tsc's job).
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function registerTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
      inlineSourceMap: true,
    },
  });
  module._compile(outputText, filename);
};
