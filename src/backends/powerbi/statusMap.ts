import type { RefreshStatus } from '../../refresh/types';

/**
 * Power BI's refresh words onto the neutral statuses. Execution details carry `status` (Unknown,
 * Completed, Failed, Disabled) and the finer `extendedStatus` (Unknown, NotStarted, InProgress,
 * Completed, TimedOut, Failed, Disabled, Cancelled); history rows carry `status` (Unknown while
 * running, Completed, Failed, Disabled, Cancelled) and, for enhanced refreshes, `extendedStatus`.
 * Sources: the REST reference's DatasetRefreshDetail and Refresh definitions (swagger in
 * microsoft/PowerBI-CSharp sdk/swaggers/swagger.json) and "Enhanced refresh with the Power BI REST API".
 */
const NEUTRAL: Record<string, RefreshStatus> = {
  notstarted: 'notStarted',
  inprogress: 'inProgress',
  // "Unknown if the completion state is unknown or a refresh is in progress": it has not ended.
  unknown: 'inProgress',
  completed: 'succeeded',
  failed: 'failed',
  // "Disabled if the refresh is disabled by a selective refresh": it did not refresh anything.
  disabled: 'failed',
  timedout: 'timedOut',
  cancelled: 'cancelled',
  canceled: 'cancelled',
};

/** The neutral status of a known word, case-insensitively; undefined for a word the API does not document. */
export function neutralStatus(word: string | undefined): RefreshStatus | undefined {
  if (word === undefined) return undefined;
  return NEUTRAL[word.trim().toLowerCase()];
}

/**
 * The status of a refresh from its two words: `extendedStatus` says more than `status` (which is
 * Unknown both before the refresh starts and while it runs), so it wins unless it is missing,
 * Unknown or undocumented. Without a usable word at all: undefined (the answer is malformed).
 */
export function refreshStatusOf(status: string | undefined, extendedStatus: string | undefined): RefreshStatus | undefined {
  const extended = neutralStatus(extendedStatus);
  const basic = neutralStatus(status);
  if (extended !== undefined && extendedStatus?.trim().toLowerCase() !== 'unknown') return extended;
  return basic ?? extended;
}

/** An object's (table or partition) status in the neutral words where Power BI's word is known; the service's word otherwise. */
export function objectStatusOf(word: string): string {
  return neutralStatus(word) ?? word;
}
