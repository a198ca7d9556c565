import type { RefreshMessage, RefreshObjectStatus } from '../refresh/types';
import type { RunError, RunProgress } from './contracts';

/**
 * The Durable extension refuses a custom status over 16 KB, counted as UTF-16 bytes of its JSON
 * (DurableOrchestrationContext.SetCustomStatus: MaxCustomStatusPayloadSizeInKB = 16), and the
 * orchestration fails. Everything in a run's status that the service supplies (object names, statuses,
 * messages, ids, sync details) can be of any length, so while a run is going its custom status
 * carries clipped text, the first objects and messages that fit, and a count per status; the
 * finished run's output carries them all.
 */
export const CUSTOM_STATUS_LIMIT_BYTES = 16 * 1024;
/** Kept well under the limit: what the extension's serialiser escapes may differ from ours. */
const STATUS_BYTE_BUDGET = 14 * 1024;
export const STATUS_OBJECT_LIMIT = 50;
const STATUS_MESSAGE_LIMIT = 3;
const STATUS_COUNT_KEYS = 8;
/** Statuses beyond the most frequent ones are counted under this key. */
export const OTHER_STATUSES_KEY = 'other';
const TEXT_LIMIT = 300;
const NAME_LIMIT = 120;
const SHORT_LIMIT = 64;

/**
 * Bytes of the JSON as UTF-16, counting every non-ASCII character as the six characters of a
 * `\uXXXX` escape: an upper bound whatever the serialiser escapes.
 */
export function customStatusBytes(value: unknown): number {
  const json = JSON.stringify(value) ?? '';
  let units = 0;
  for (let i = 0; i < json.length; i += 1) units += json.charCodeAt(i) < 0x80 ? 1 : 6;
  return units * 2;
}

/** Cuts text to `limit` UTF-16 units, never in the middle of a surrogate pair. */
export function clipText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

export function countObjectsByStatus(objects: readonly RefreshObjectStatus[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const object of objects) counts[object.status] = (counts[object.status] ?? 0) + 1;
  return counts;
}

/** Counts per status for the custom status: the most frequent statuses, the rest under "other". */
function boundedCounts(objects: readonly RefreshObjectStatus[]): Record<string, number> {
  const entries = Object.entries(countObjectsByStatus(objects)).sort((a, b) => b[1] - a[1]);
  const counts: Record<string, number> = {};
  let other = 0;
  for (const [status, count] of entries) {
    const key = clipText(status, SHORT_LIMIT);
    if (Object.keys(counts).length < STATUS_COUNT_KEYS && !(key in counts) && key !== OTHER_STATUSES_KEY) counts[key] = count;
    else other += count;
  }
  if (other > 0) counts[OTHER_STATUSES_KEY] = (counts[OTHER_STATUSES_KEY] ?? 0) + other;
  return counts;
}

const clipObject = (object: RefreshObjectStatus): RefreshObjectStatus => ({
  table: clipText(object.table, NAME_LIMIT),
  ...(object.partition === undefined ? {} : { partition: clipText(object.partition, NAME_LIMIT) }),
  status: clipText(object.status, SHORT_LIMIT),
});

const clipMessage = (message: RefreshMessage): RefreshMessage => ({
  ...(message.code === undefined ? {} : { code: clipText(message.code, SHORT_LIMIT) }),
  message: clipText(message.message, TEXT_LIMIT),
  ...(message.type === undefined ? {} : { type: clipText(message.type, SHORT_LIMIT) }),
});

const clipError = (error: RunError | undefined, limit: number): RunError | undefined => (error === undefined ? undefined : { code: error.code, message: clipText(error.message, limit) });

const clipOptional = (text: string | undefined, limit: number) => (text === undefined ? undefined : clipText(text, limit));

export function compactProgress(progress: RunProgress): RunProgress {
  const base: RunProgress = dropUndefined({
    ...progress,
    refreshId: clipOptional(progress.refreshId, SHORT_LIMIT),
    refreshStatus: clipOptional(progress.refreshStatus, SHORT_LIMIT) as RunProgress['refreshStatus'],
    syncServiceState: typeof progress.syncServiceState === 'string' ? clipText(progress.syncServiceState, SHORT_LIMIT) : progress.syncServiceState,
    refreshStartTime: clipOptional(progress.refreshStartTime, SHORT_LIMIT),
    refreshEndTime: clipOptional(progress.refreshEndTime, SHORT_LIMIT),
    syncOperationId: clipOptional(progress.syncOperationId, SHORT_LIMIT),
    syncDetails: progress.syncDetails === null || progress.syncDetails === undefined ? progress.syncDetails : clipText(progress.syncDetails, TEXT_LIMIT),
    lastIssue: clipError(progress.lastIssue, TEXT_LIMIT),
    note: clipOptional(progress.note, TEXT_LIMIT),
    error: clipError(progress.error, TEXT_LIMIT),
    objects: [],
    messages: [],
    objectCounts: boundedCounts(progress.objects),
    objectsTruncated: undefined,
  });
  const objects = progress.objects.slice(0, STATUS_OBJECT_LIMIT).map(clipObject);
  const messages = progress.messages.slice(0, STATUS_MESSAGE_LIMIT).map(clipMessage);
  const withLists = (objectCount: number, messageCount: number): RunProgress => {
    const compact = { ...base, objects: objects.slice(0, objectCount), messages: messages.slice(0, messageCount) };
    if (objectCount < progress.objects.length || messageCount < progress.messages.length) compact.objectsTruncated = true;
    return compact;
  };
  const full = withLists(objects.length, messages.length);
  if (customStatusBytes(full) <= STATUS_BYTE_BUDGET) return full;
  // Too long (long names, non-ASCII text): as many of the first objects as fit, then messages.
  for (let count = objects.length; count >= 0; count -= count > 10 ? 10 : 1) {
    const fewer = withLists(count, 0);
    if (customStatusBytes(fewer) <= STATUS_BYTE_BUDGET) {
      for (let m = messages.length; m > 0; m -= 1) {
        const withMessages = withLists(count, m);
        if (customStatusBytes(withMessages) <= STATUS_BYTE_BUDGET) return withMessages;
      }
      return fewer;
    }
  }
  // Every text clipped and no lists still does not fit (escapes everywhere): the facts only.
  return dropUndefined({
    phase: progress.phase,
    startedAt: progress.startedAt,
    deadline: progress.deadline,
    refreshId: clipOptional(progress.refreshId, 40),
    objects: [],
    messages: [],
    objectCounts: base.objectCounts,
    objectsTruncated: true,
    statusCalls: progress.statusCalls,
    executions: progress.executions,
    nextPollAt: progress.nextPollAt,
    syncStatus: progress.syncStatus,
    syncServiceState: typeof progress.syncServiceState === 'number' ? progress.syncServiceState : undefined,
    lastIssue: clipError(progress.lastIssue, 40),
    outcome: progress.outcome,
    error: clipError(progress.error, 40),
    endedAt: progress.endedAt,
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
