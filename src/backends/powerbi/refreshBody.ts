import { AppError, ErrorCodes } from '../../errors';
import { refreshTypeProblem, type CommitMode, type RefreshRequest, type RefreshType } from '../../refresh/types';

/**
 * The enhanced refresh body of `POST …/datasets/{id}/refreshes`. Any field besides `notifyOption`
 * makes the refresh enhanced (execution details, cancel, objects); `notifyOption` is left out
 * because enhanced refreshes and service principals cannot use it (Refresh Dataset In Group,
 * Limitations). Enum values as the REST reference spells them (`Full`, `Transactional`).
 */
export interface PowerBiRefreshBody {
  type: string;
  commitMode: string;
  maxParallelism: number;
  retryCount: number;
  objects: Array<{ table: string; partition?: string }>;
  applyRefreshPolicy?: boolean;
  effectiveDate?: string;
  /** Per attempt, `hh:mm:ss`; the service's default is 05:00:00 and all attempts end within 24 hours. */
  timeout?: string;
}

const TYPE_NAMES: Record<RefreshType, string> = {
  full: 'Full',
  clearValues: 'ClearValues',
  calculate: 'Calculate',
  dataOnly: 'DataOnly',
  automatic: 'Automatic',
  defragment: 'Defragment',
};

const COMMIT_MODE_NAMES: Record<CommitMode, string> = { transactional: 'Transactional', partialBatch: 'PartialBatch' };

/** The service stops every refresh 24 hours after its first attempt began; a longer timeout means nothing. */
export const MAX_ATTEMPT_TIMEOUT_SECONDS = 24 * 3600 - 1;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(text: string): boolean {
  const match = ISO_DATE.exec(text);
  if (match === null) return false;
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * What Power BI would refuse in a refresh request, in words for a 400 before anything is
 * submitted. `applyRefreshPolicy: true` with `partialBatch` is unsupported (Enhanced refresh,
 * Parameters table); `add` is not a refresh type the API takes ("The add type isn't supported").
 */
export function powerBiRefreshProblems(refresh: RefreshRequest): string[] {
  const problems: string[] = [];
  // One refusal of `add` for every backend (src/refresh/types.ts).
  const typeProblem = refreshTypeProblem(refresh.type);
  if (typeProblem !== undefined) problems.push(typeProblem);
  if (!Object.hasOwn(COMMIT_MODE_NAMES, refresh.commitMode)) problems.push(`commitMode "${String(refresh.commitMode).slice(0, 64)}" is not one of transactional, partialBatch`);
  if (refresh.commitMode === 'partialBatch' && refresh.applyRefreshPolicy === true) {
    problems.push('applyRefreshPolicy must be false with commitMode "partialBatch" (Power BI does not apply a refresh policy in partial batches)');
  }
  if (refresh.applyRefreshPolicy !== undefined && typeof refresh.applyRefreshPolicy !== 'boolean') problems.push('applyRefreshPolicy must be true or false');
  if (refresh.effectiveDate !== undefined && (typeof refresh.effectiveDate !== 'string' || !isCalendarDate(refresh.effectiveDate))) {
    problems.push('effectiveDate must be a date as yyyy-mm-dd, e.g. 2024-12-31');
  }
  if (!Number.isInteger(refresh.maxParallelism) || refresh.maxParallelism < 1) problems.push('maxParallelism must be an integer >= 1');
  if (!Number.isInteger(refresh.retryCount) || refresh.retryCount < 0) problems.push('retryCount must be an integer >= 0');
  return problems;
}

/** `hh:mm:ss` of a whole number of seconds below one day (the form the service's examples use). */
export function formatAttemptTimeout(seconds: number): string {
  const clamped = Math.min(Math.max(1, Math.ceil(seconds)), MAX_ATTEMPT_TIMEOUT_SECONDS);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(Math.floor(clamped / 3600))}:${pad(Math.floor((clamped % 3600) / 60))}:${pad(clamped % 60)}`;
}

/**
 * The body for a request. `attemptTimeoutMs`, when given (the run's time left), becomes the
 * per-attempt `timeout`, so that Power BI's 5-hour default does not end a refresh the run still
 * waits for, and the service stops by itself near the run's deadline if a cancel cannot reach it.
 * With `partialBatch` and no `applyRefreshPolicy`, `false` is sent: the service's default (true)
 * is the unsupported combination.
 */
export function toPowerBiRefreshBody(refresh: RefreshRequest, attemptTimeoutMs?: number): PowerBiRefreshBody {
  const problems = powerBiRefreshProblems(refresh);
  if (problems.length > 0) throw new AppError(ErrorCodes.POWERBI_BAD_REQUEST, `Invalid Power BI refresh request: ${problems.join('; ')}.`);
  const applyRefreshPolicy = refresh.applyRefreshPolicy ?? (refresh.commitMode === 'partialBatch' ? false : undefined);
  return {
    type: TYPE_NAMES[refresh.type],
    commitMode: COMMIT_MODE_NAMES[refresh.commitMode],
    maxParallelism: refresh.maxParallelism,
    retryCount: refresh.retryCount,
    objects: refresh.objects.map((object) => (object.partition === undefined ? { table: object.table } : { table: object.table, partition: object.partition })),
    ...(applyRefreshPolicy === undefined ? {} : { applyRefreshPolicy }),
    ...(refresh.effectiveDate === undefined ? {} : { effectiveDate: refresh.effectiveDate }),
    // No time left means no useful bound: leave the service's default rather than send one second.
    ...(attemptTimeoutMs === undefined || !(attemptTimeoutMs > 0) ? {} : { timeout: formatAttemptTimeout(attemptTimeoutMs / 1000) }),
  };
}
