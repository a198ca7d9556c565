import { z } from 'zod';
import { timestampField } from '../../refresh/timestamps';
import { REFRESH_STATUSES, type RefreshDetails, type RefreshStatus, type RefreshSummary, type SyncDetails, type SyncState } from './types';

/**
 * Lenient readers of AAS answers: field names are matched case-insensitively (`syncstate` and
 * `syncState`, `UpdatedAt` and `updatedAt`), extra fields are ignored, optional arrays may be
 * missing, and timestamps with 7 fractional digits or without a zone (read as UTC) become ISO
 * strings with `Z`. Anything that still does not fit is a schema error the client reports as
 * AAS_BAD_RESPONSE.
 */

/** Lower-cases every object key, recursively. */
export function lowerCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerCaseKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key.toLowerCase(), lowerCaseKeys(inner)]));
  }
  return value;
}

const timestamp = timestampField();

function matchStatus(value: string): RefreshStatus | undefined {
  return REFRESH_STATUSES.find((status) => status.toLowerCase() === value.toLowerCase());
}

const refreshStatus = z.string().transform((value, ctx) => {
  const status = matchStatus(value);
  if (status === undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown refresh status "${value}"` });
    return z.NEVER;
  }
  return status;
});

const optionalText = z.union([z.string(), z.number()]).nullish().transform((value) => (value === null || value === undefined ? undefined : String(value)));

const objectStatus = z.object({
  table: z.string(),
  partition: optionalText,
  status: z.string().transform((value) => matchStatus(value) ?? value),
});

const message = z.object({ code: optionalText, message: z.string(), type: optionalText });

const refreshDetailsSchema = z.object({
  refreshid: optionalText,
  status: refreshStatus,
  starttime: timestamp,
  endtime: timestamp,
  type: optionalText,
  currentrefreshtype: optionalText,
  objects: z.array(objectStatus).nullish(),
  messages: z.array(message).nullish(),
});

const refreshSummarySchema = z.object({ refreshid: z.string().min(1), status: refreshStatus, starttime: timestamp, endtime: timestamp });

const syncSchema = z.object({
  operationid: optionalText,
  database: optionalText,
  startedat: timestamp,
  updatedat: timestamp,
  syncstate: z.coerce.number().int().min(0).max(4),
  details: z.unknown().optional(),
});

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as T;
}

export function parseRefreshDetails(body: unknown, requestedId: string): RefreshDetails {
  const parsed = refreshDetailsSchema.parse(lowerCaseKeys(body));
  return withoutUndefined({
    refreshId: parsed.refreshid ?? requestedId,
    status: parsed.status,
    startTime: parsed.starttime,
    endTime: parsed.endtime,
    type: parsed.type,
    currentRefreshType: parsed.currentrefreshtype,
    objects: (parsed.objects ?? []).map((entry) => withoutUndefined({ table: entry.table, partition: entry.partition, status: entry.status })),
    messages: (parsed.messages ?? []).map((entry) => withoutUndefined({ code: entry.code, message: entry.message, type: entry.type })),
  });
}

export function parseRefreshList(body: unknown): RefreshSummary[] {
  const normalised = lowerCaseKeys(body);
  // The documented answer is a bare array; accept an OData-style `{ value: [...] }` as well.
  const list = Array.isArray(normalised) ? normalised : (normalised as { value?: unknown } | null)?.value;
  return z
    .array(refreshSummarySchema)
    .parse(list)
    .map((entry) => withoutUndefined({ refreshId: entry.refreshid, status: entry.status, startTime: entry.starttime, endTime: entry.endtime }));
}

export function parseSyncDetails(body: unknown, requestedId: string): SyncDetails {
  const parsed = syncSchema.parse(lowerCaseKeys(body));
  const details = parsed.details === undefined || parsed.details === null ? parsed.details : typeof parsed.details === 'string' ? parsed.details : JSON.stringify(parsed.details);
  return withoutUndefined({
    operationId: parsed.operationid ?? requestedId,
    syncState: parsed.syncstate as SyncState,
    database: parsed.database,
    startedAt: parsed.startedat,
    updatedAt: parsed.updatedat,
    details: details as string | null | undefined,
  });
}
