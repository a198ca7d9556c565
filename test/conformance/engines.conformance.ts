/**
 * The same scenarios on the local durable host and on the real Durable extension (Azurite), in
 * real time, side by side. Each scenario asserts what a user would see on both engines, prints
 * every difference between them, and fails when the differences are not exactly the known ones
 * (knownDifferences.ts, explained in local/real-engine/README.md): a new difference, or one that
 * has been fixed, both need a look.
 */
import fs from 'node:fs';
import path from 'node:path';
import { modelName } from '../support/appStack';
import { differences, startEngine, startShared, type Engine, type Observation, type Shared } from './harness';
import { KNOWN_DIFFERENCES } from './knownDifferences';
import { SCENARIOS } from './scenarios';

let shared: Shared;
let local: Engine;
let real: Engine;
const report: { scenario: string; localMs: number; realMs: number; differences: string[]; local: Observation; real: Observation }[] = [];

beforeAll(async () => {
  shared = await startShared();
  const t0 = Date.now();
  local = await startEngine('local', shared);
  const t1 = Date.now();
  real = await startEngine('real', shared);
  console.log(`start-up: local host ${t1 - t0} ms, real engine (Azurite + .NET host) ${Date.now() - t1} ms`);
}, 300_000);

afterAll(async () => {
  await local?.stop();
  await real?.stop();
  await shared?.stop();
  const out = path.join(__dirname, '..', '..', '.local', 'conformance', 'latest.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 2));
  const lines = report.map(
    (r) =>
      `${r.scenario}: local ${(r.localMs / 1000).toFixed(1)} s (${r.local.statusCalls ?? '?'} AAS status calls), ` +
      `real ${(r.realMs / 1000).toFixed(1)} s (${r.real.statusCalls ?? '?'}), ${r.differences.length} difference(s)`,
  );
  console.log(`conformance summary (details in .local/conformance/latest.json)\n${lines.join('\n')}`);
}, 120_000);

const EXPECTED: Record<string, Record<string, unknown>> = {
  'sample model: whole-model refresh and sync': { status: 'succeeded', aasStatus: 'succeeded', syncState: 2, aasRefreshes: 1, aasRefreshStatus: ['succeeded'], objectCounts: { succeeded: 13 } },
  'refresh and sync': { status: 'succeeded', aasSubmitRefresh: 1, aasSubmitSync: 1, syncState: 2 },
  'cancel mid-poll': { status: 'cancelled', aasCancelRefresh: 1, aasSubmitSync: 0 },
  'continueAsNew after 20 polls': { status: 'succeeded', aasSubmitRefresh: 1, moreThan20StatusCalls: true, continuedAsNew: true },
  'busy model waited out': { status: 'succeeded', aasSubmitRefresh: 1, sawWaiting: true },
  'crash and resume': { status: 'succeeded', aasSubmitRefresh: 1, aasSubmitSync: 1 },
  'refresh fails': { status: 'failed', errorCode: 'REFRESH_FAILED', errorMentionsAas: true, aasSubmitSync: 0 },
  'transient AAS errors on status polls': { status: 'succeeded', aasSubmitRefresh: 1, failedPolls: 2 },
  'run times out': { status: 'timedOut', errorCode: 'RUN_TIMED_OUT', aasCancelRefresh: 1, aasSubmitSync: 0 },
  callback: { status: 'succeeded', callbacksReceived: 1, callbackStatus: 'succeeded' },
};

describe('local durable host vs the real Durable extension', () => {
  SCENARIOS.forEach((scenario, index) => {
    it(scenario.name, async () => {
      // Every scenario states what a user would see: without it the outcome checks below could not fail.
      const expected = EXPECTED[scenario.name];
      if (expected === undefined) throw new Error(`EXPECTED has no outcome for the scenario "${scenario.name}"`);
      const timed = async (engine: Engine, model: string): Promise<[Observation, number]> => {
        const t = Date.now();
        const observation = await scenario.run(engine, shared, model);
        return [observation, Date.now() - t];
      };
      const [[onLocal, localMs], [onReal, realMs]] = await Promise.all([timed(local, modelName(2 * index + 1)), timed(real, modelName(2 * index + 2))]);
      const found = differences(scenario.name, onLocal, onReal);
      report.push({ scenario: scenario.name, localMs, realMs, differences: found, local: onLocal, real: onReal });
      console.log(`${scenario.name}: local ${localMs} ms, real ${realMs} ms\n${found.length === 0 ? '  no difference' : found.map((d) => `  DIFFERENCE ${d}`).join('\n')}`);
      expect(onReal.outcome).toMatchObject(expected);
      expect(onLocal.outcome).toMatchObject(expected);
      expect(found).toEqual(KNOWN_DIFFERENCES[scenario.name] ?? []);
    }, scenario.timeoutMs + 30_000);
  });
});
