import { ErrorCodes } from '../../src/errors';
import type { RunProgress } from '../../src/orchestration/contracts';
import { clipText, compactProgress, CUSTOM_STATUS_LIMIT_BYTES, customStatusBytes, OTHER_STATUSES_KEY } from '../../src/orchestration/statusSummary';

// Property-style: whatever AAS puts in a run's progress (how many objects, how long their names,
// which characters), the custom status stays under Durable's 16 KB (UTF-16) and keeps the facts
// a caller needs: the phase, the outcome and error code, the status calls, the object counts.

/** Small seeded PRNG (mulberry32) so that a failure can be reproduced from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  '"\\/\b\f\n\r\t\u0000\u0001\u001f',
  '表格分区数据刷新失败',
  '😀🧪🚀',
  '\ud800\udfff\udbff',
  '\u2028\u2029\u0085',
];
const LENGTHS = [0, 1, 40, 64, 65, 120, 121, 299, 300, 301, 2_000, 9_000];

function generator(seed: number) {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const text = (): string => {
    const alphabet = pick(ALPHABETS);
    const length = pick(LENGTHS);
    const chars = Array.from({ length: Math.min(length, 64) }, () => alphabet[Math.floor(next() * alphabet.length)] ?? '').join('');
    return chars.repeat(Math.ceil(length / Math.max(1, chars.length))).slice(0, length);
  };
  return { next, pick, text };
}

function adversarialProgress(seed: number): RunProgress {
  const { next, pick, text } = generator(seed);
  const objectCount = pick([0, 1, 49, 50, 51, 500, 5_000]);
  const distinctStatuses = next() < 0.3;
  const statusText = text();
  // Names come from a small pool, so that thousands of objects stay cheap to build.
  const names = Array.from({ length: 12 }, text);
  const objects = Array.from({ length: objectCount }, (_, i) => ({
    table: next() < 0.5 ? pick(names) : `Table${i}`,
    ...(next() < 0.5 ? { partition: pick(names) } : {}),
    status: distinctStatuses ? `${statusText}${i}` : pick(['succeeded', 'inProgress', 'notStarted', statusText]),
  }));
  const messages = Array.from({ length: pick([0, 1, 3, 12]) }, () => ({ message: text(), ...(next() < 0.5 ? { code: text(), type: text() } : {}) }));
  return {
    phase: pick(['pending', 'waiting', 'refreshing', 'syncing'] as const),
    startedAt: '2026-01-05T02:00:00.000Z',
    deadline: '2026-01-05T14:00:00.000Z',
    refreshId: text(),
    adopted: next() < 0.5,
    refreshStatus: text() as RunProgress['refreshStatus'],
    refreshStartTime: text(),
    refreshEndTime: text(),
    objects,
    messages,
    syncOperationId: text(),
    syncStatus: 'running',
    syncServiceState: 1,
    syncDetails: next() < 0.8 ? text() : null,
    statusCalls: Math.floor(next() * 1_000),
    expectedDurationMs: 60_000,
    nextPollAt: '2026-01-05T02:10:00.000Z',
    lastIssue: { code: ErrorCodes.AAS_TRANSIENT, message: text() },
    executions: 3,
    ...(next() < 0.5 ? { outcome: 'failed' as const, error: { code: ErrorCodes.REFRESH_FAILED, message: text() }, endedAt: '2026-01-05T03:00:00.000Z' } : {}),
  };
}

/** The bytes as .NET counts them (Encoding.Unicode over the JSON text), for JSON.stringify's escaping. */
const utf16Bytes = (value: unknown) => (JSON.stringify(value) ?? '').length * 2;

describe('custom status size', () => {
  it('stays under 16 KB with the facts kept, for 120 adversarial runs', () => {
    const failures: string[] = [];
    for (let seed = 0; seed < 120; seed += 1) {
      const progress = adversarialProgress(seed);
      const compact = compactProgress(progress);
      const counted = Object.values(compact.objectCounts ?? {}).reduce((sum, count) => sum + count, 0);
      const cut = compact.objects.length < progress.objects.length || compact.messages.length < progress.messages.length;
      const problems = [
        customStatusBytes(compact) > CUSTOM_STATUS_LIMIT_BYTES && `${customStatusBytes(compact)} bytes (escaped)`,
        utf16Bytes(compact) > CUSTOM_STATUS_LIMIT_BYTES && `${utf16Bytes(compact)} bytes`,
        compact.phase !== progress.phase && 'phase lost',
        compact.statusCalls !== progress.statusCalls && 'statusCalls lost',
        (compact.startedAt !== progress.startedAt || compact.deadline !== progress.deadline) && 'times lost',
        compact.outcome !== progress.outcome && 'outcome lost',
        compact.error?.code !== progress.error?.code && 'error code lost',
        // Every object is counted, under its status or under "other"; a list that was cut says so.
        counted !== progress.objects.length && `counted ${counted} of ${progress.objects.length} objects`,
        cut !== (compact.objectsTruncated === true) && 'objectsTruncated wrong',
      ].filter((problem): problem is string => typeof problem === 'string');
      if (problems.length > 0) failures.push(`seed ${seed}: ${problems.join(', ')}`);
    }
    expect(failures).toEqual([]);
  });

  it('keeps every object and message of an ordinary run', () => {
    const progress = adversarialProgress(1);
    const ordinary: RunProgress = {
      ...progress,
      objects: [
        { table: 'DimDate', partition: 'DimDate', status: 'succeeded' },
        { table: 'FactSales', partition: 'FactSales 2026', status: 'inProgress' },
      ],
      messages: [{ message: 'Processing started.' }],
      lastIssue: undefined,
      syncDetails: null,
      refreshId: '8b9b2c8e-1d55-4c43-9f9c-1f2d3e4a5b6c',
      refreshStatus: 'inProgress',
    };
    const compact = compactProgress(ordinary);
    expect(compact.objects).toEqual(ordinary.objects);
    expect(compact.messages).toEqual(ordinary.messages);
    expect(compact.objectCounts).toEqual({ succeeded: 1, inProgress: 1 });
    expect(compact.objectsTruncated).toBeUndefined();
  });

  it('counts thousands of distinct statuses in a few keys', () => {
    const progress = adversarialProgress(2);
    const objects = Array.from({ length: 2_000 }, (_, i) => ({ table: `T${i}`, status: `status-${i}` }));
    const compact = compactProgress({ ...progress, objects });
    expect(Object.keys(compact.objectCounts ?? {}).length).toBeLessThanOrEqual(9);
    expect(compact.objectCounts?.[OTHER_STATUSES_KEY]).toBe(2_000 - 8);
  });

  it('clips text without splitting a surrogate pair', () => {
    expect(clipText('ab😀', 3)).toBe('ab…');
    expect(clipText('ab😀', 4)).toBe('ab😀');
    expect(clipText('abc', 3)).toBe('abc');
  });
});
