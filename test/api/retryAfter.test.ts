import { RETRY_AFTER_SECONDS, retryAfterSeconds } from '../../src/api/handlers';

describe('Retry-After of a running run', () => {
  const now = Date.UTC(2026, 0, 5, 2, 0, 0);
  const at = (seconds: number) => new Date(now + seconds * 1000).toISOString();
  const max = 600_000;
  it.each<[string, string | undefined, number]>([
    ['the next poll in 10 minutes', at(600), 600],
    ['the next poll in 5 minutes', at(300), 302],
    ['the next poll in 2.2 s', at(2.2), 5],
    ['the next poll beyond POLL_MAX_INTERVAL_SECONDS', at(3600), 600],
    ['no poll scheduled', undefined, RETRY_AFTER_SECONDS],
    ['a poll that is due (in flight)', at(-5), RETRY_AFTER_SECONDS],
    ['an unreadable time', 'soon', RETRY_AFTER_SECONDS],
  ])('%s', (_label, nextPollAt, expected) => {
    expect(retryAfterSeconds(nextPollAt === undefined ? {} : { nextPollAt }, now, max)).toBe(expected);
  });
});
