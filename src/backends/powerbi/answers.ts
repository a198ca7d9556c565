import { z } from 'zod';
import { timestampField } from '../../refresh/timestamps';
import type { RefreshDetails, RefreshStatus, RefreshSummary } from '../../refresh/types';
import { objectStatusOf, refreshStatusOf } from './statusMap';

/**
 * Readers of Power BI answers. Field names are camelCase in every documented answer; extra
 * fields are ignored and optional arrays may be missing or null. Anything that does not fit is a
 * zod error the client reports as POWERBI_BAD_RESPONSE.
 */

// Power BI also writes seven fractional digits and timestamps without a zone (UTC); a bad one is
// quoted to 64 characters.
const timestamp = timestampField(64);

const optionalText = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => (value === null || value === undefined ? undefined : String(value)));

const objectSchema = z.object({ table: z.string(), partition: optionalText, status: optionalText });
const messageSchema = z.object({ code: optionalText, message: optionalText, type: optionalText });

const detailsSchema = z.object({
  startTime: timestamp,
  endTime: timestamp,
  type: optionalText,
  commitMode: optionalText,
  status: optionalText,
  extendedStatus: optionalText,
  currentRefreshType: optionalText,
  numberOfAttempts: z.number().int().nonnegative().nullish(),
  objects: z.array(objectSchema).nullish(),
  messages: z.array(messageSchema).nullish(),
});

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as T;
}

function statusOrIssue(status: string | undefined, extendedStatus: string | undefined, ctx: z.RefinementCtx): RefreshStatus {
  const neutral = refreshStatusOf(status, extendedStatus);
  if (neutral === undefined) {
    const words = [status, extendedStatus].filter((word) => word !== undefined).map((word) => `"${word.slice(0, 32)}"`);
    ctx.addIssue({ code: 'custom', message: words.length === 0 ? 'no status' : `unknown refresh status ${words.join(' / ')}` });
    return z.NEVER;
  }
  return neutral;
}

/** Execution details as the neutral shape, plus what only Power BI tells (attempts, its own words). */
export interface PowerBiRefreshDetails extends RefreshDetails {
  numberOfAttempts?: number;
  /** Power BI's own `status` / `extendedStatus`, for people reading the run. */
  serviceStatus?: string;
}

/**
 * `GET …/refreshes/{requestId}` (Get Refresh Execution Details In Group): answered 202 while the
 * refresh runs and 200 once it has ended; the body says which status, so both read alike.
 */
export function parseRefreshDetails(body: unknown, refreshId: string): PowerBiRefreshDetails {
  const parsed = detailsSchema
    .transform((value, ctx) => ({ ...value, neutral: statusOrIssue(value.status, value.extendedStatus, ctx) }))
    .parse(body);
  return withoutUndefined({
    refreshId,
    status: parsed.neutral,
    startTime: parsed.startTime,
    endTime: parsed.endTime,
    type: parsed.type,
    currentRefreshType: parsed.currentRefreshType,
    objects: (parsed.objects ?? []).map((entry) => withoutUndefined({ table: entry.table, partition: entry.partition, status: objectStatusOf(entry.status ?? 'Unknown') })),
    messages: (parsed.messages ?? [])
      .filter((entry) => entry.message !== undefined || entry.code !== undefined)
      .map((entry) => withoutUndefined({ code: entry.code, message: entry.message ?? '', type: entry.type })),
    numberOfAttempts: parsed.numberOfAttempts ?? undefined,
    serviceStatus: [parsed.status, parsed.extendedStatus].filter((word) => word !== undefined).join(' / ') || undefined,
  });
}

const historyRowSchema = z.object({
  requestId: optionalText,
  refreshType: optionalText,
  startTime: timestamp,
  endTime: timestamp,
  status: optionalText,
  extendedStatus: optionalText,
});

/** A history row as the neutral shape, plus how it was started (Scheduled, OnDemand, ViaApi, ViaEnhancedApi, ViaXmlaEndpoint, …). */
export interface PowerBiRefreshSummary extends RefreshSummary {
  refreshType?: string;
}

/**
 * `GET …/refreshes?$top=n` (Get Refresh History In Group): `{ value: [...] }`, newest first,
 * the last 60 without `$top`. A row's `requestId` is the id execution details and cancel take;
 * the integer `id` some answers carry is not. A row without `requestId` cannot be polled or
 * cancelled, and cannot be this app's (it always asks for an enhanced refresh, which has one),
 * so it is left out; a refresh it stands for that still runs shows up as the 400 "another
 * refresh" when the run submits.
 */
export function parseRefreshHistory(body: unknown): PowerBiRefreshSummary[] {
  const list = z.object({ value: z.array(z.unknown()) }).parse(body).value;
  const rows: PowerBiRefreshSummary[] = [];
  list.forEach((entry, index) => {
    const row = historyRowSchema.parse(entry);
    if (row.requestId === undefined) return;
    const status = refreshStatusOf(row.status, row.extendedStatus);
    if (status === undefined) {
      throw new z.ZodError([{ code: 'custom', path: ['value', index, 'status'], message: `unknown status "${String(row.status).slice(0, 32)}"` }]);
    }
    rows.push(withoutUndefined({ refreshId: row.requestId, status, startTime: row.startTime, endTime: row.endTime, refreshType: row.refreshType }));
  });
  return rows;
}

const namedItemSchema = z.object({ id: z.string().min(1), name: z.string() });

/** `GET /groups?$filter=…` and `GET /groups/{id}/datasets`: `{ value: [{ id, name, … }] }`. */
export function parseNamedItems(body: unknown): Array<{ id: string; name: string }> {
  return z
    .object({ value: z.array(namedItemSchema.passthrough()) })
    .parse(body)
    .value.map((item) => ({ id: item.id, name: item.name }));
}

/** The version fields of DatasetQueryScaleOutSyncStatus: int64 commit versions (e.g. 133186221251720662) that a JS number cannot hold. */
const VERSION_FIELDS = ['commitVersion', 'targetSyncVersion', 'minActiveReadVersion'] as const;

/**
 * The JSON text with each version number turned into a string before parsing, so that
 * 133186221251720662 stays itself (JSON.parse would round it to 133186221251720660).
 */
export function quoteVersionNumbers(text: string): string {
  return text.replace(new RegExp(`("(?:${VERSION_FIELDS.join('|')})"\\s*:\\s*)(-?\\d+)`, 'g'), '$1"$2"');
}

const version = z
  .union([z.string().regex(/^-?\d+$/), z.number().int()])
  .nullish()
  .transform((value) => (value === null || value === undefined ? undefined : BigInt(value)));

const syncStatusSchema = z.object({
  commitVersion: version,
  commitTimestamp: timestamp,
  targetSyncVersion: version,
  minActiveReadVersion: version,
  minActiveReadTimestamp: timestamp,
  triggerReason: optionalText,
  syncStartTime: timestamp,
  syncEndTime: timestamp,
  scaleOutStatus: optionalText,
});

export interface QueryScaleOutStatus {
  commitVersion?: bigint;
  minActiveReadVersion?: bigint;
  targetSyncVersion?: bigint;
  /** Enabled, TenantSettingDisabled, StorageModeNotSupported, ReadOnlyReplicasDisabled (and "Unavailable" in the scale-out docs). */
  scaleOutStatus?: string;
  triggerReason?: string;
  syncStartTime?: string;
  syncEndTime?: string;
  commitTimestamp?: string;
  minActiveReadTimestamp?: string;
}

/**
 * `POST …/queryScaleOut/sync` and `GET …/queryScaleOut/syncStatus` answer the same
 * DatasetQueryScaleOutSyncStatus. The scale-out docs say the status can come back empty (load
 * the model or refresh it, then ask again): an empty body reads as a status without fields.
 */
export function parseQueryScaleOutStatus(text: string): QueryScaleOutStatus {
  if (text.trim() === '') return {};
  const parsed = syncStatusSchema.parse(JSON.parse(quoteVersionNumbers(text)) as unknown);
  return withoutUndefined({ ...parsed });
}
