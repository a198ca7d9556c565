import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The rules of `npm run infra:check` (tools/bicep/check.js) on small Bicep files: a warning of
 * the real compiler fails the check like an error, and a `#disable-next-line` is accepted only
 * with a `//` reason on the line above.
 */

interface Diagnostic {
  code: string;
  level: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const check = require('../../tools/bicep/check.js') as {
  unjustifiedSuppressions(dir: string): string[];
  problemsOf(run: { status: number; diagnostics: Diagnostic[]; otherOutput: string }): string[];
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bicep = require('../../tools/bicep/bicep.js') as { runBicep(command: string, file: string): { status: number; diagnostics: Diagnostic[]; otherOutput: string } };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bicep-check-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a compiler warning (exit code 0) is a problem of the check', () => {
  const file = join(dir, 'warns.bicep');
  writeFileSync(file, "param unused string = 'x'\n");
  const run = bicep.runBicep('lint', file);
  expect(run.status).toBe(0);
  expect(check.problemsOf(run)).toEqual([expect.stringContaining('warning no-unused-params')]);
}, 120_000);

test('#disable-next-line without a reason above it is reported; with one it is accepted', () => {
  writeFileSync(join(dir, 'bare.bicep'), "#disable-next-line no-unused-params\nparam a string = 'x'\n");
  writeFileSync(join(dir, 'reasoned.bicep'), "// Kept for callers that still pass it.\n#disable-next-line no-unused-params\nparam b string = 'x'\n");
  expect(check.unjustifiedSuppressions(dir)).toEqual([expect.stringContaining('bare.bicep:1: "#disable-next-line no-unused-params" has no "// why" comment')]);
});
