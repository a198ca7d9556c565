import { differences, historyFormat, historyShape } from './harness';

// The comparison the conformance suite relies on (the suite itself: npm run test:conformance).
describe('conformance comparison', () => {
  const poll = ['TimerCreated', 'TimerFired', 'TaskCompleted'];
  const run = (polls: number): string[] => ['ExecutionStarted', 'TaskCompleted', ...Array.from({ length: polls }, () => poll).flat(), 'ExecutionCompleted'];

  it('treats the same poll loop repeated a different number of times as the same history', () => {
    expect(historyShape(run(3))).toEqual(historyShape(run(30)));
    expect(differences('s', { outcome: { status: 'succeeded' }, historyTypes: run(3) }, { outcome: { status: 'succeeded' }, historyTypes: run(30) })).toEqual([]);
  });

  it('treats a cancel met during a poll activity or during its timer as the same history', () => {
    const cancelled = (during: 'timer' | 'activity'): string[] => [
      'ExecutionStarted', 'TaskCompleted', ...poll, 'TimerCreated',
      ...(during === 'timer' ? ['EventRaised', 'TimerFired', 'TaskCompleted'] : ['TimerFired', 'EventRaised', 'TaskCompleted']),
      'TaskCompleted', 'ExecutionCompleted',
    ];
    expect(differences('s', { outcome: {}, historyTypes: cancelled('timer') }, { outcome: {}, historyTypes: cancelled('activity') })).toEqual([]);
  });

  it('reports a missing event, a different end and a different outcome field, in words', () => {
    const withoutTimer = ['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted'];
    expect(differences('s', { outcome: { status: 'succeeded', calls: 1 }, historyTypes: run(2) }, { outcome: { status: 'failed', calls: 1 }, historyTypes: withoutTimer })).toEqual([
      's: status: local "succeeded", real "failed"',
      's: history events only on local: TimerCreated, TimerFired',
    ]);
    const raisedFirst = ['ExecutionStarted', 'EventRaised', 'TaskCompleted', 'ExecutionCompleted'];
    const completedFirst = ['ExecutionStarted', 'TaskCompleted', 'EventRaised', 'ExecutionCompleted'];
    expect(differences('s', { outcome: {}, historyTypes: raisedFirst }, { outcome: {}, historyTypes: completedFirst })).toEqual([
      's: history events first met in another order: local ExecutionStarted > EventRaised > TaskCompleted > ExecutionCompleted, real ExecutionStarted > TaskCompleted > EventRaised > ExecutionCompleted',
    ]);
    expect(differences('s', { outcome: {}, historyTypes: ['ExecutionStarted', 'ExecutionCompleted'] }, { outcome: {}, historyTypes: ['ExecutionStarted', 'ContinueAsNew'] })).toContain(
      's: history ends with: local ExecutionCompleted, real ContinueAsNew',
    );
  });

  it('reports a history format drift: a field renamed or moved in one event type, a JavaScript time', () => {
    const completed = { EventType: 'TaskCompleted', Timestamp: '2026-01-05T02:00:01.5Z', ScheduledTime: '2026-01-05T02:00:00+00:00', FunctionName: 'f', Input: null };
    const real = historyFormat([completed]);
    const moved = historyFormat([{ EventType: 'TaskCompleted', FunctionName: 'f', Timestamp: '2026-01-05T02:00:01.5Z', ScheduledTime: '2026-01-05T02:00:00+00:00', Input: null }]);
    const jsTime = historyFormat([{ ...completed, Timestamp: '2026-01-05T02:00:01.500Z' }]);
    expect(real.fieldsByType).toEqual({ TaskCompleted: ['EventType,Timestamp,ScheduledTime,FunctionName,Input'] });
    expect(real.dotnetTimes).toBe(true);
    expect(differences('s', { outcome: { historyFormat: moved }, historyTypes: [] }, { outcome: { historyFormat: real }, historyTypes: [] })).toHaveLength(1);
    expect(jsTime.dotnetTimes).toBe(false);
  });
});
