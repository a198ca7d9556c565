import type { RefreshSummary } from '../refresh/types';

/** What makes a refresh in the model's history the run's own. */
export interface OwnRefreshRule {
  /** The ids the run saw before it submitted: none of them is its own. */
  knownRefreshIds: readonly string[];
  /** When the run decided to submit, less a clock-skew allowance (ISO). An older refresh is not its own. */
  notBefore: string;
  /** The type the run asked for. */
  type: string;
}

export type OwnRefreshPick =
  | { kind: 'own'; refresh: RefreshSummary }
  /** The newest undecided candidate's type is needed: read it and ask again with it in `types`. */
  | { kind: 'needType'; refreshId: string }
  | { kind: 'none' };

/**
 * The run's own refresh in a history, newest first: one the run had not seen, started at or after
 * `notBefore` (a refresh without a start time counts as new), and of the type it asked for. A new
 * refresh of another type is someone else's, started after the run looked (e.g. the one behind a
 * conflict): adopting it would report their refresh as the one this run asked for. A candidate
 * whose type the service does not report (undefined in `types`) is taken as the run's own.
 *
 * Pure: the types come in `types` (id → type as the service reported it); the caller reads the
 * one asked for, so that only candidates up to the decision cost a call.
 */
export function pickOwnRefresh(history: readonly RefreshSummary[], rule: OwnRefreshRule, types: ReadonlyMap<string, string | undefined>): OwnRefreshPick {
  const known = new Set(rule.knownRefreshIds);
  const notBefore = Date.parse(rule.notBefore);
  const startOf = (refresh: RefreshSummary) => (refresh.startTime === undefined ? Number.POSITIVE_INFINITY : Date.parse(refresh.startTime));
  const candidates = [...history]
    .sort((a, b) => startOf(b) - startOf(a))
    .filter((refresh) => !known.has(refresh.refreshId) && (refresh.startTime === undefined || Date.parse(refresh.startTime) >= notBefore));
  for (const refresh of candidates) {
    if (!types.has(refresh.refreshId)) return { kind: 'needType', refreshId: refresh.refreshId };
    const type = types.get(refresh.refreshId);
    if (type === undefined || type.toLowerCase() === rule.type.toLowerCase()) return { kind: 'own', refresh };
  }
  return { kind: 'none' };
}
