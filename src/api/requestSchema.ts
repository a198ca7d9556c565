import { z } from 'zod';
import { backends } from '../backends';
import type { Config } from '../config/config';
import { AppError } from '../errors';
import { callbackUrlProblem } from '../http/allowList';
import { RUN_STATUSES, type RunRequest } from '../orchestration/contracts';
import { parseIsoDuration } from '../orchestration/duration';
import type { RefreshTarget } from '../refresh/target';
import { COMMIT_MODES, REFRESH_TYPES, refreshTypeProblem, type RefreshRequest } from '../refresh/types';

/** Request bodies larger than this are refused with 413; a refresh request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;
export const MIN_TIMEOUT_MS = 60 * 1000;

/**
 * Field names as accepted: camelCase, the documented PascalCase, and any other casing (the AAS
 * service matches JSON names case-insensitively). ADF's Webhook activity adds `callBackUri`.
 * A request names an AAS model (`server` + `model`) or a Power BI / Fabric semantic model
 * (`workspace` + `semanticModel`, each a GUID or a name).
 */
const FIELDS = [
  'server',
  'model',
  'workspace',
  'semanticModel',
  'type',
  'commitMode',
  'maxParallelism',
  'retryCount',
  'objects',
  'applyRefreshPolicy',
  'effectiveDate',
  'sync',
  'timeout',
  'onConflict',
  'callbackUrl',
] as const;
const ALIASES: Record<string, (typeof FIELDS)[number]> = { callbackuri: 'callbackUrl' };
const OBJECT_FIELDS = ['table', 'partition'] as const;

// A `u` regex reads a surrogate pair as one code point, so \p{Cs} matches only a lone half: JSON's
// `\ud800` escape makes such a string, which no URL or AAS name can carry (encodeURIComponent throws).
const LONE_SURROGATE = /\p{Cs}/u;

const name = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .min(1, `${what} must not be empty`)
    .max(256, `${what} is longer than 256 characters`)
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), `${what} must not contain control characters`)
    .refine((value) => !LONE_SURROGATE.test(value), `${what} is not well-formed Unicode (it has a lone surrogate such as \\ud800)`);

/** The model name, the same on every route: a name AAS can address, never "." or "..". */
export const modelName = name('model').refine((value) => !/^\.+$/.test(value), 'model must not be "." or ".."');

/** A Power BI workspace or semantic model: a GUID or a name, never "." or "..". */
const powerBiName = (what: 'workspace' | 'semanticModel') => name(what).refine((value) => !/^\.+$/.test(value), `${what} must not be "." or ".."`);

/**
 * Checks a target with its backend's adapter (grammar, host allow-list; no I/O, no token) and
 * returns the problem in words, or undefined. A backend without an adapter in this build is a problem too.
 */
export function targetProblem(target: RefreshTarget, config: Config): string | undefined {
  try {
    backends.forTarget(target).parseTarget(target, config);
    return undefined;
  } catch (error) {
    return error instanceof AppError ? error.detail : 'the target is not valid';
  }
}

/** The server name, the same on every route: asazure://<host>/<server> with the host on AAS_ALLOWED_HOSTS. */
export function serverName(config: Config) {
  return z.string({ error: 'server is required (asazure://<region>.asazure.windows.net/<server>)' }).superRefine((value, ctx) => {
    const problem = targetProblem({ backend: 'aas', server: value, model: 'm' }, config);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

function caseInsensitiveEnum<T extends string>(values: readonly T[], field: string) {
  return z.string({ error: `${field} must be a string` }).transform((value, ctx) => {
    if (field === 'type' && value.toLowerCase() === 'add') {
      ctx.addIssue({ code: 'custom', message: refreshTypeProblem(value) ?? 'type "add" is not supported' });
      return z.NEVER;
    }
    const match = values.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (match === undefined) {
      ctx.addIssue({ code: 'custom', message: `${field} "${value.slice(0, 64)}" is not one of ${values.join(', ')}` });
      return z.NEVER;
    }
    return match;
  });
}

const integer = (field: string, min: number, max: number) =>
  z.number({ error: `${field} must be a number` }).int(`${field} must be a whole number`).min(min, `${field} must be at least ${min}`).max(max, `${field} must be at most ${max}`);

const refreshObject = z.object(
  { table: name('table'), partition: name('partition').optional() },
  { error: 'each object must be {"table": ..., "partition"?: ...}' },
);

/**
 * An object named twice, or a partition of a table that is also named whole, would have AAS
 * process it twice: refused, naming both entries. Compared case-insensitively, as AAS compares
 * object names.
 */
function refuseRepeatedObjects(objects: { table: string; partition?: string }[], ctx: z.RefinementCtx): void {
  const wholeTable = new Map<string, number>();
  const partition = new Map<string, number>();
  objects.forEach((object, index) => {
    const table = object.table.toLowerCase();
    if (object.partition === undefined && !wholeTable.has(table)) wholeTable.set(table, index);
  });
  objects.forEach((object, index) => {
    const table = object.table.toLowerCase();
    const whole = wholeTable.get(table);
    const describe = object.partition === undefined ? `table "${object.table.slice(0, 64)}"` : `partition "${object.partition.slice(0, 64)}" of table "${object.table.slice(0, 64)}"`;
    if (whole !== undefined && whole !== index) {
      ctx.addIssue({ code: 'custom', path: [index], message: `objects.${index}: ${describe} is already refreshed by objects.${whole}, which names the whole table` });
      return;
    }
    if (object.partition === undefined) return;
    const key = `${table}\u0000${object.partition.toLowerCase()}`;
    const earlier = partition.get(key);
    if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: [index], message: `objects.${index}: ${describe} is given twice (also objects.${earlier})` });
    else partition.set(key, index);
  });
}

export type RawRefreshRequest = Record<string, unknown>;

/** Validates a POST /api/refreshes body (already parsed JSON) into a RunRequest; lists every problem. */
export function parseRunRequest(body: unknown, config: Config, source: string): { ok: true; request: RunRequest } | { ok: false; problems: string[] } {
  // Names are normalised first so that unknown or duplicate fields are listed with everything else.
  const problems: string[] = [];
  const normalised = normaliseKeys(body, FIELDS, ALIASES, problems, '');
  const powerBi = normalised.workspace !== undefined || normalised.semanticModel !== undefined;
  if (powerBi && (normalised.server !== undefined || normalised.model !== undefined)) {
    problems.push('give either server and model (an AAS model) or workspace and semanticModel (a Power BI semantic model), not both');
  }
  const schema = z.object({
        // The target's fields are read by parseTargetFields.
        server: z.unknown().optional(),
        model: z.unknown().optional(),
        workspace: z.unknown().optional(),
        semanticModel: z.unknown().optional(),
        type: caseInsensitiveEnum(REFRESH_TYPES, 'type').default('automatic'),
        commitMode: caseInsensitiveEnum(COMMIT_MODES, 'commitMode').default('transactional'),
        maxParallelism: integer('maxParallelism', 1, 256).default(10),
        retryCount: integer('retryCount', 0, 100).default(0),
        objects: z.array(refreshObject, { error: 'objects must be an array' }).max(1000, 'objects has more than 1000 entries').superRefine(refuseRepeatedObjects).default([]),
        applyRefreshPolicy: z.boolean({ error: 'applyRefreshPolicy must be true or false' }).optional(),
        effectiveDate: z
          .string({ error: 'effectiveDate must be a date string such as 2025-12-31' })
          .regex(/^\d{4}-\d{2}-\d{2}$/, 'effectiveDate must be a date such as 2025-12-31 (yyyy-mm-dd)')
          .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), 'effectiveDate is not a calendar date')
          .optional(),
        sync: z.boolean({ error: 'sync must be true or false' }).default(config.refresh.defaultSync),
        timeout: z
          .string({ error: 'timeout must be an ISO 8601 duration string such as PT2H' })
          .transform((value, ctx) => {
            try {
              const ms = parseIsoDuration(value);
              if (ms < MIN_TIMEOUT_MS || ms > MAX_TIMEOUT_MS) ctx.addIssue({ code: 'custom', message: 'timeout must be between PT1M and P7D' });
              return ms;
            } catch (error) {
              ctx.addIssue({ code: 'custom', message: `timeout: ${(error as Error).message}` });
              return z.NEVER;
            }
          })
          .optional(),
        onConflict: z.enum(['fail', 'wait'], { error: 'onConflict must be "fail" or "wait"' }).default('fail'),
        callbackUrl: z
          .string({ error: 'callbackUrl must be a string' })
          .max(2048, 'callbackUrl is longer than 2048 characters')
          .refine((value) => !LONE_SURROGATE.test(value), 'callbackUrl is not well-formed Unicode (it has a lone surrogate)')
          .superRefine((value, ctx) => {
            const problem = callbackUrlProblem(value, config.callbackAllowedHosts);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `callbackUrl ${problem}` });
          })
          .optional(),
      });
  if (Array.isArray(normalised.objects)) {
    normalised.objects = normalised.objects.map((entry: unknown, index: number) =>
      typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? normaliseKeys(entry, OBJECT_FIELDS, {}, problems, `objects.${index}: `) : entry,
    );
  }
  const describeIssue = (issue: z.core.$ZodIssue) => (issue.path.length > 0 && !issue.message.startsWith(String(issue.path[0])) ? `${issue.path.join('.')}: ${issue.message}` : issue.message);
  const parsedTarget = parseTargetFields(normalised, powerBi, config);
  if (!parsedTarget.ok) problems.push(...parsedTarget.issues.map(describeIssue));
  const parsed = schema.safeParse(normalised);
  if (!parsed.success) problems.push(...parsed.error.issues.map(describeIssue));
  if (!parsed.success || !parsedTarget.ok || problems.length > 0) return { ok: false, problems };
  const value = parsed.data;
  const target = parsedTarget.target;
  const refresh: RefreshRequest = {
    type: value.type,
    commitMode: value.commitMode,
    maxParallelism: value.maxParallelism,
    retryCount: value.retryCount,
    objects: value.objects.map((object) => (object.partition === undefined ? { table: object.table } : { table: object.table, partition: object.partition })),
    ...(value.applyRefreshPolicy === undefined ? {} : { applyRefreshPolicy: value.applyRefreshPolicy }),
    ...(value.effectiveDate === undefined ? {} : { effectiveDate: value.effectiveDate }),
  };
  // The target's own checks (Power BI: an adapter must be registered), then what its service does not take.
  if (powerBi) {
    const problem = targetProblem(target, config);
    if (problem !== undefined) return { ok: false, problems: [problem] };
  }
  // partialBatch with applyRefreshPolicy true is the Power BI adapter's refusal (AAS refuses the field itself).
  const refused = backends.forTarget(target).refreshProblems(refresh);
  if (refused.length > 0) return { ok: false, problems: refused };
  return {
    ok: true,
    request: {
      ...target,
      refresh,
      sync: value.sync,
      timeoutMs: value.timeout ?? config.refresh.defaultTimeoutMs,
      onConflict: value.onConflict,
      ...(value.callbackUrl === undefined ? {} : { callbackUrl: value.callbackUrl }),
      source,
      polling: config.polling,
    },
  };
}

/** The target's fields: `workspace` + `semanticModel` for Power BI, otherwise `server` + `model` (AAS). */
function parseTargetFields(fields: Record<string, unknown>, powerBi: boolean, config: Config): { ok: true; target: RefreshTarget } | { ok: false; issues: z.core.$ZodIssue[] } {
  if (powerBi) {
    const parsed = z.object({ workspace: powerBiName('workspace'), semanticModel: powerBiName('semanticModel') }).safeParse({ workspace: fields.workspace, semanticModel: fields.semanticModel });
    return parsed.success ? { ok: true, target: { backend: 'powerbi', ...parsed.data } } : { ok: false, issues: parsed.error.issues };
  }
  const parsed = z.object({ server: serverName(config), model: modelName }).safeParse({ server: fields.server, model: fields.model });
  return parsed.success ? { ok: true, target: { backend: 'aas', ...parsed.data } } : { ok: false, issues: parsed.error.issues };
}

/** Maps keys to their canonical names case-insensitively; unknown and duplicate keys are problems. */
function normaliseKeys(value: unknown, fields: readonly string[], aliases: Record<string, string>, problems: string[], prefix: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('the body must be a JSON object');
    return {};
  }
  const canonical = new Map(fields.map((field) => [field.toLowerCase(), field]));
  const result: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    // Own properties only: `aliases["constructor"]` or `aliases["__proto__"]` would otherwise name
    // Object's built-ins and let such keys through unrefused.
    const lowered = key.toLowerCase();
    const target = canonical.get(lowered) ?? (Object.hasOwn(aliases, lowered) ? aliases[lowered] : undefined);
    if (target === undefined) {
      problems.push(`${prefix}unknown field "${key.slice(0, 64)}"`);
      continue;
    }
    if (target in result) {
      problems.push(`${prefix}field "${target}" is given twice (as "${key.slice(0, 64)}")`);
      continue;
    }
    result[target] = entry;
  }
  return result;
}

/** Every status a run can show; what `GET /api/refreshes?status=` accepts (the one list, contracts.ts). */
export const RUN_STATUS_FILTERS = RUN_STATUSES;
export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 200;

export interface ListQuery {
  server?: string;
  model?: string;
  workspace?: string;
  semanticModel?: string;
  status?: (typeof RUN_STATUS_FILTERS)[number];
  limit: number;
  /** Created at or after / at or before (the task hub's creation time). */
  createdFrom?: Date;
  createdTo?: Date;
  /** From the previous page's answer. */
  continuationToken?: string;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * `GET /api/refreshes?server=&model=&status=&limit=` or `?workspace=&semanticModel=...`: the same
 * name rules as the body; AAS and Power BI filters do not mix.
 */
export function parseListQuery(query: URLSearchParams, config: Config): Parsed<ListQuery> {
  const mixed = (query.has('server') || query.has('model')) && (query.has('workspace') || query.has('semanticModel'));
  if (mixed) return { ok: false, problems: ['filter on server and model (AAS) or on workspace and semanticModel (Power BI), not both'] };
  return parseQuery(
    query,
    z.object({
      server: serverName(config).optional(),
      model: modelName.optional(),
      workspace: powerBiName('workspace').optional(),
      semanticModel: powerBiName('semanticModel').optional(),
      status: z.enum(RUN_STATUS_FILTERS, { error: (issue) => `status "${String(issue.input).slice(0, 64)}" is not a run status (${RUN_STATUS_FILTERS.join(', ')})` }).optional(),
      // Digits only: Number() would also take "1e2", "0x10" and " 5".
      limit: z
        .string()
        .regex(/^[0-9]{1,6}$/, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, in decimal digits`)
        .transform(Number)
        .pipe(z.number().min(1, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`).max(MAX_LIST_LIMIT, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`))
        .default(DEFAULT_LIST_LIMIT),
      createdFrom: isoTime('createdFrom').optional(),
      createdTo: isoTime('createdTo').optional(),
      continuationToken: z.string().max(4096, 'continuationToken is not one this API gave out').optional(),
    }),
  );
}

/** A UTC time as ISO 8601 (`2026-01-31T00:00:00Z`); a date alone is its midnight UTC. */
const isoTime = (name: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2}))?$/, `${name} must be an ISO 8601 time such as 2026-01-31T00:00:00Z`)
    .transform((value) => new Date(value))
    .refine((date) => Number.isFinite(date.getTime()), `${name} is not a valid time`);

/** `GET /api/models/refreshes?server=&model=` or `?workspace=&semanticModel=`: a target as in a refresh request. */
export function parseHistoryQuery(query: URLSearchParams, config: Config): Parsed<RefreshTarget> {
  const powerBi = query.has('workspace') || query.has('semanticModel');
  if (powerBi && (query.has('server') || query.has('model'))) return { ok: false, problems: ['give either server and model (AAS) or workspace and semanticModel (Power BI), not both'] };
  if (!powerBi) {
    const parsed = parseQuery(query, z.object({ server: serverName(config), model: modelName }));
    return parsed.ok ? { ok: true, value: { backend: 'aas', ...parsed.value } } : parsed;
  }
  const parsed = parseQuery(query, z.object({ workspace: powerBiName('workspace'), semanticModel: powerBiName('semanticModel') }));
  if (!parsed.ok) return parsed;
  const target: RefreshTarget = { backend: 'powerbi', ...parsed.value };
  const problem = targetProblem(target, config);
  return problem === undefined ? { ok: true, value: target } : { ok: false, problems: [problem] };
}

function parseQuery<T extends z.ZodObject>(query: URLSearchParams, schema: T): Parsed<z.infer<T>> {
  const problems: string[] = [];
  const values: Record<string, string> = {};
  for (const field of Object.keys(schema.shape)) {
    const given = query.getAll(field);
    if (given.length > 1) problems.push(`${field} is given ${given.length} times; give it once`);
    if (given[0] !== undefined) values[field] = given[0];
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => (issue.message.startsWith(String(issue.path[0])) ? issue.message : `${issue.path.join('.')}: ${issue.message}`)));
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, value: parsed.data };
}
