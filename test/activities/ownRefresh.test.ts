import { pickOwnRefresh, type OwnRefreshPick } from '../../src/activities/ownRefresh';
import type { RefreshSummary } from '../../src/refresh/types';

// Which refresh in the model's history is the run's own (an earlier attempt whose answer was
// lost): newer than the snapshot, started after the run decided to submit, of the type it asked for.

const rule = { knownRefreshIds: ['old-1', 'old-2'], notBefore: '2026-01-05T02:00:00.000Z', type: 'full' };
const at = (time: string) => `2026-01-05T${time}.000Z`;
const refresh = (refreshId: string, startTime?: string): RefreshSummary => ({ refreshId, status: 'inProgress', ...(startTime === undefined ? {} : { startTime: at(startTime) }) });

describe('pickOwnRefresh', () => {
  it.each<[string, RefreshSummary[], Record<string, string | undefined>, OwnRefreshPick]>([
    ['an empty history has none', [], {}, { kind: 'none' }],
    ['refreshes the run saw before submitting are not its own', [refresh('old-1', '02:00:05'), refresh('old-2', '02:00:06')], {}, { kind: 'none' }],
    ['a refresh that started before the run decided is someone else’s', [refresh('early', '01:59:59')], {}, { kind: 'none' }],
    ['a new refresh whose type is not read yet: its type is asked for', [refresh('new', '02:00:01')], {}, { kind: 'needType', refreshId: 'new' }],
    ['a new refresh of the same type is its own', [refresh('new', '02:00:01')], { new: 'Full' }, { kind: 'own', refresh: refresh('new', '02:00:01') }],
    ['a new refresh of another type is not', [refresh('new', '02:00:01')], { new: 'calculate' }, { kind: 'none' }],
    ['a type the service does not report counts as its own', [refresh('new', '02:00:01')], { new: undefined }, { kind: 'own', refresh: refresh('new', '02:00:01') }],
    ['the newest candidate is asked about first', [refresh('a', '02:00:01'), refresh('b', '02:00:09')], {}, { kind: 'needType', refreshId: 'b' }],
    ['after a newer one of another type, the next is asked about', [refresh('a', '02:00:01'), refresh('b', '02:00:09')], { b: 'calculate' }, { kind: 'needType', refreshId: 'a' }],
    ['a refresh without a start time is newest and new', [refresh('a', '02:00:01'), refresh('nostart')], { nostart: 'full' }, { kind: 'own', refresh: refresh('nostart') }],
    ['starting exactly at notBefore is new', [refresh('edge', '02:00:00')], { edge: 'full' }, { kind: 'own', refresh: refresh('edge', '02:00:00') }],
  ])('%s', (_case, history, types, expected) => {
    expect(pickOwnRefresh(history, rule, new Map(Object.entries(types)))).toEqual(expected);
  });
});
