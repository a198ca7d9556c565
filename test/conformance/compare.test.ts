import { differences, historyShape } from './harness';

// The comparison the conformance suite relies on (the suite itself: npm run test:conformance).
describe('conformance comparison', () => {
  const poll = ['TimerCreated', 'TimerFired', 'TaskCompleted'];
  const run = (polls: number): string[] => ['ExecutionStarted', 'TaskCompleted', ...Array.from({ length: polls }, () => poll).flat(), 'ExecutionCompleted'];

  it('treats the same poll loop repeated a different number of times as the same history', () => {
    expect(historyShape(run(3))).toEqual(historyShape(run(30)));
    expect(differences('s', { outcome: { status: 'succeeded' }, historyTypes: run(3) }, { outcome: { status: 'succeeded' }, historyTypes: run(30) })).toEqual([]);
  });

  it('reports a missing event, a different end and a different outcome field, in words', () => {
    const withoutTimer = ['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted'];
    expect(differences('s', { outcome: { status: 'succeeded', calls: 1 }, historyTypes: run(2) }, { outcome: { status: 'failed', calls: 1 }, historyTypes: withoutTimer })).toEqual([
      's: status: local "succeeded", real "failed"',
      's: history transitions only on local: TaskCompleted>TimerCreated, TimerCreated>TimerFired, TimerFired>TaskCompleted',
      's: history transitions only on real: TaskCompleted>TaskCompleted',
    ]);
    expect(differences('s', { outcome: {}, historyTypes: ['ExecutionStarted', 'ExecutionCompleted'] }, { outcome: {}, historyTypes: ['ExecutionStarted', 'ContinueAsNew'] })).toContain(
      's: history ends with: local ExecutionCompleted, real ContinueAsNew',
    );
  });
});
