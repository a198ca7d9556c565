import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { formatPercent, percentile, table } from './stats';

/**
 * Benchmark 4 of issue 7: time to load the production entry point (package.json "main",
 * dist/src/index.js) next to bare `@azure/functions` + `durable-functions`, in the same run.
 *
 * Every measurement is a fresh `node -e` child that times only its `require` calls with
 * process.hrtime, so process start-up is left out and no module cache is shared. The two sides
 * alternate so drift (CPU frequency, page cache, a neighbour's load) hits both alike.
 * Outside the Functions worker @azure/functions runs "in test mode" and registers nothing; the
 * module load cost is what is measured.
 */

const ROOT = path.resolve(__dirname, '..', '..');
export const PRODUCTION_ENTRY = path.join(ROOT, 'dist', 'src', 'index.js');
export const BARE_MODULES = ['@azure/functions', 'durable-functions'] as const;
export const RUNS = 15;
export const BREAKDOWN_RUNS = 9;
export const TARGET_RATIO = 1.5;

/** The least the app's config loader accepts (keyVault mode); nothing is contacted at load time. */
export const MINIMAL_SETTINGS: Readonly<Record<string, string>> = {
  AUTH_MODE: 'keyVault',
  AAS_TENANT_ID: '00000000-0000-0000-0000-000000000000',
  AAS_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
  KEY_VAULT_URL: 'https://x.vault.azure.net',
  KEY_VAULT_SECRET_NAME: 'x',
};

const MARKER = 'BENCH_LOAD_MS=';

/**
 * Requires `preload` untimed, then times requiring `timed`; prints the milliseconds after a marker
 * (@azure/functions prints its own "test mode" notice to the same stream).
 */
const CHILD_SCRIPT = `
const preload = JSON.parse(process.env.BENCH_PRELOAD || '[]');
const timed = JSON.parse(process.env.BENCH_TIMED);
for (const id of preload) require(id);
const start = process.hrtime.bigint();
for (const id of timed) require(id);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write('\\n${MARKER}' + ms + '\\n');
`;

export interface LoadSpec {
  name: string;
  timed: readonly string[];
  /** Loaded before the clock starts: measures what `timed` adds on top of these. */
  preload?: readonly string[];
}

/** Loads the modules in a fresh node process and returns the time the requires took, in ms. */
export function measureLoad(spec: LoadSpec): number {
  const child = spawnSync(process.execPath, ['-e', CHILD_SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, ...MINIMAL_SETTINGS, BENCH_PRELOAD: JSON.stringify(spec.preload ?? []), BENCH_TIMED: JSON.stringify(spec.timed) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = child.stdout.split('\n').find((text) => text.startsWith(MARKER));
  if (child.status !== 0 || line === undefined) {
    throw new Error(`loading ${spec.name} failed (exit ${String(child.status)}): ${child.stderr.trim().slice(0, 2000)}`);
  }
  return Number(line.slice(MARKER.length));
}

export interface LoadStats {
  name: string;
  samplesMs: number[];
  medianMs: number;
  p90Ms: number;
}

function stats(name: string, samplesMs: number[]): LoadStats {
  return { name, samplesMs, medianMs: percentile(samplesMs, 50), p90Ms: percentile(samplesMs, 90) };
}

/** Runs each spec `runs` times, rotating which goes first. */
export function measureInterleaved(specs: readonly LoadSpec[], runs: number): LoadStats[] {
  const samples = specs.map((): number[] => []);
  for (let run = 0; run < runs; run += 1) {
    for (let k = 0; k < specs.length; k += 1) {
      const index = (run + k) % specs.length;
      const spec = specs[index];
      if (spec !== undefined) samples[index]?.push(measureLoad(spec));
    }
  }
  return specs.map((spec, index) => stats(spec.name, samples[index] ?? []));
}

export interface StartupReport {
  runs: number;
  bare: LoadStats;
  production: LoadStats;
  ratio: { median: number; p90: number };
  met: boolean;
  /** What the production entry loads beyond the bare pair, each measured on top of it. */
  breakdown: LoadStats[];
}

/** What the app loads at start-up beyond the bare pair (the Azure SDKs for auth load lazily, on first token). */
export const BREAKDOWN: readonly LoadSpec[] = [
  { name: 'undici (on top of bare)', timed: ['undici'], preload: BARE_MODULES },
  { name: 'zod (on top of bare)', timed: ['zod'], preload: BARE_MODULES },
  { name: 'app code only (bare + undici + zod preloaded)', timed: [PRODUCTION_ENTRY], preload: [...BARE_MODULES, 'undici', 'zod'] },
  { name: '@azure/identity (on top of bare; lazy in the app)', timed: ['@azure/identity'], preload: BARE_MODULES },
  { name: '@azure/keyvault-secrets (on top of bare; lazy in the app)', timed: ['@azure/keyvault-secrets'], preload: BARE_MODULES },
];

export function measureStartup(runs = RUNS, breakdownRuns = BREAKDOWN_RUNS): StartupReport {
  const [bare, production] = measureInterleaved(
    [
      { name: 'bare @azure/functions + durable-functions', timed: BARE_MODULES },
      { name: 'production entry (dist/src/index.js)', timed: [PRODUCTION_ENTRY] },
    ],
    runs,
  );
  if (bare === undefined || production === undefined) throw new Error('startup measurements missing');
  const ratio = { median: production.medianMs / bare.medianMs, p90: production.p90Ms / bare.p90Ms };
  return { runs, bare, production, ratio, met: ratio.median <= TARGET_RATIO, breakdown: measureInterleaved(BREAKDOWN, breakdownRuns) };
}

export function formatStartup(report: StartupReport): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const lines = [
    'Start-up (issue 7, benchmark 4)',
    `Each sample: a fresh \`node -e\` child timing only its require() calls with process.hrtime; N=${report.runs} per side, order alternating; minimal keyVault settings in the child's environment.`,
    '',
    table([
      ['load', 'median', 'p90', 'min', 'max'],
      ...[report.bare, report.production].map((s) => [s.name, ms(s.medianMs), ms(s.p90Ms), ms(Math.min(...s.samplesMs)), ms(Math.max(...s.samplesMs))]),
      ['ratio production / bare', `${report.ratio.median.toFixed(2)}x`, `${report.ratio.p90.toFixed(2)}x`, '', ''],
    ]),
    '',
    `Target (issue 7) — reported, never failed on: [${report.met ? 'MET' : 'MISSED'}] production entry <= ${TARGET_RATIO}x bare: ${report.ratio.median.toFixed(2)}x (median), ${report.ratio.p90.toFixed(2)}x (p90).`,
    '',
    `What the production entry adds on top of the bare pair (N=${report.breakdown[0]?.samplesMs.length ?? 0} each; shared dependencies are counted once, by whichever loads first, so the rows do not add up exactly):`,
    table([
      ['extra load', 'median', 'p90', 'share of bare median'],
      ...report.breakdown.map((s) => [s.name, ms(s.medianMs), ms(s.p90Ms), formatPercent(s.medianMs / report.bare.medianMs, 0)]),
    ]),
  ];
  if (!report.met) {
    const heavy = [...report.breakdown]
      .filter((s) => !s.name.includes('lazy'))
      .sort((a, b) => b.medianMs - a.medianMs)
      .map((s) => `${s.name} ${ms(s.medianMs)}`);
    const allowance = (TARGET_RATIO - 1) * report.bare.medianMs;
    lines.push(
      '',
      `Why missed: the target allows ${ms(allowance)} on top of the bare ${ms(report.bare.medianMs)}; the entry adds ${ms(report.production.medianMs - report.bare.medianMs)}. Loaded eagerly at import, heaviest first: ${heavy.join(', ')}.`,
    );
  }
  return lines.join('\n');
}

export function runStartup(): StartupReport {
  const report = measureStartup();
  console.log(formatStartup(report));
  return report;
}
