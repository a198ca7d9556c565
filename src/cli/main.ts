#!/usr/bin/env node
// `aas-refresh` (package.json "bin"): the command-line tool for pipelines and developers.
import { runCli, type Terminal } from './run';

const env = process.env;
const ci = env.GITHUB_ACTIONS === 'true' ? 'github' : env.TF_BUILD !== undefined ? 'azureDevOps' : undefined;
// CI logs get plain lines even when the runner allocates a pseudo-terminal.
const inCi = ci !== undefined || (env.CI !== undefined && env.CI !== '' && env.CI !== 'false');
const terminal: Terminal = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  // A pseudo-terminal can report 0 x 0 when nobody set its size.
  size: () => ({ columns: process.stdout.columns || 100, rows: process.stdout.rows || 40 }),
  live: process.stdout.isTTY === true && !inCi && env.TERM !== 'dumb',
  interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
  color: process.stdout.isTTY === true && env.NO_COLOR === undefined,
  ...(ci === undefined ? {} : { ci }),
};

runCli(process.argv.slice(2), env, terminal, async (directEnv, target) => (await import('./direct')).directService(directEnv, target)).then((code) => {
  process.exitCode = code;
  // Pooled connections or a paused stdin must not hold the process once the answer is out.
  setTimeout(() => process.exit(code), 2000).unref();
});
