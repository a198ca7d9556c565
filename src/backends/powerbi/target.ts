import { AppError, ErrorCodes } from '../../errors';

import type { PowerBiTarget } from '../../refresh/target';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Power BI caps workspace and item names well below this; anything longer is not a name.
const MAX_NAME_LENGTH = 256;
// C0/C1 control characters, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

function quoteForMessage(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

function invalidTarget(reason: string): AppError {
  return new AppError(ErrorCodes.POWERBI_INVALID_TARGET, `Invalid Power BI target: ${reason}.`);
}

function checkName(value: unknown, field: 'workspace' | 'semanticModel'): string {
  if (typeof value !== 'string') throw invalidTarget(`${field} must be a string: a GUID or a name`);
  if (value.trim().length === 0) throw invalidTarget(`${field} is empty`);
  if (value.length > MAX_NAME_LENGTH) throw invalidTarget(`${field} is longer than ${MAX_NAME_LENGTH} characters`);
  if (CONTROL.test(value)) throw invalidTarget(`${field} ${quoteForMessage(value)} contains a control character`);
  if (value !== value.trim()) throw invalidTarget(`${field} ${quoteForMessage(value)} starts or ends with white space`);
  return value;
}

function checkId(value: unknown, field: 'workspaceId' | 'semanticModelId'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isGuid(value)) throw invalidTarget(`${field} must be a GUID`);
  return value.toLowerCase();
}

/**
 * Checks a Power BI target before any token is asked for: `workspace` and `semanticModel` are each
 * a GUID or a name (a workspace may well be called "Sales 2024"). A GUID given as the name is
 * also its id, lower-cased; ids the run resolved earlier are kept (and must be GUIDs).
 */
export function parsePowerBiTarget(target: PowerBiTarget): PowerBiTarget {
  const workspace = checkName(target.workspace, 'workspace');
  const semanticModel = checkName(target.semanticModel, 'semanticModel');
  const workspaceId = checkId(target.workspaceId, 'workspaceId') ?? (isGuid(workspace) ? workspace.toLowerCase() : undefined);
  const semanticModelId = checkId(target.semanticModelId, 'semanticModelId') ?? (isGuid(semanticModel) ? semanticModel.toLowerCase() : undefined);
  return {
    backend: 'powerbi',
    workspace,
    semanticModel,
    ...(workspaceId === undefined ? {} : { workspaceId }),
    ...(semanticModelId === undefined ? {} : { semanticModelId }),
  };
}

/** A target whose ids are both known. */
export type ResolvedPowerBiTarget = PowerBiTarget & { workspaceId: string; semanticModelId: string };

export function isResolved(target: PowerBiTarget): target is ResolvedPowerBiTarget {
  return target.workspaceId !== undefined && target.semanticModelId !== undefined;
}

/** The ids every call uses; a target that was never resolved is a bug in the caller, not bad input. */
export function resolvedIds(target: PowerBiTarget): ResolvedPowerBiTarget {
  const parsed = parsePowerBiTarget(target);
  if (!isResolved(parsed)) {
    throw new AppError(ErrorCodes.INTERNAL, `The Power BI target ${describe(parsed)} was used before its names were resolved to ids.`);
  }
  return parsed;
}

function describe(target: PowerBiTarget): string {
  return `workspace ${quoteForMessage(target.workspace)} semantic model ${quoteForMessage(target.semanticModel)}`;
}

/**
 * An OData string literal: single quotes around, each quote inside doubled (OData URL
 * conventions, 4.01 part 2 §5.1.1.6.1 / ABNF `SQUOTE-in-string`). "O'Brien's" → 'O''Brien''s'.
 */
export function odataString(value: string): string {
  return `'${value.split("'").join("''")}'`;
}

/** `groups?$filter=name eq '<name>'`, percent-encoded for a URL query. */
export function groupsByNameQuery(name: string): string {
  return `groups?$filter=${encodeURIComponent(`name eq ${odataString(name)}`)}`;
}

/** The key two runs on the same model share, whatever names or letter case their requests used. */
export function powerBiModelKey(target: PowerBiTarget): string {
  const { workspaceId, semanticModelId } = resolvedIds(target);
  return `powerbi:${workspaceId}/${semanticModelId}`;
}

export interface NamedItem {
  id: string;
  name: string;
}

export type Pick = { kind: 'found'; id: string } | { kind: 'none' } | { kind: 'ambiguous'; ids: string[] };

/**
 * The one item a name stands for. Exact matches win; failing those, a single match that differs
 * only in letter case (Power BI compares names case-insensitively in its UI; the OData filter's
 * behaviour is not documented). Two or more matches are refused: dataset names need not be
 * unique in a workspace, and guessing would refresh the wrong model.
 */
export function pickByName(items: readonly NamedItem[], name: string): Pick {
  const exact = items.filter((item) => item.name === name);
  const candidates = exact.length > 0 ? exact : items.filter((item) => item.name.toLowerCase() === name.toLowerCase());
  if (candidates.length === 0) return { kind: 'none' };
  if (candidates.length > 1) return { kind: 'ambiguous', ids: candidates.map((item) => item.id) };
  return { kind: 'found', id: (candidates[0] as NamedItem).id.toLowerCase() };
}

/** The error for a name that resolved to nothing or to several items. */
export function unresolvedNameError(what: 'workspace' | 'semantic model', name: string, pick: Exclude<Pick, { kind: 'found' }>, where?: string): AppError {
  const shown = quoteForMessage(name);
  if (pick.kind === 'ambiguous') {
    return new AppError(
      ErrorCodes.POWERBI_INVALID_TARGET,
      `The ${what} name ${shown} matches ${pick.ids.length} items${where === undefined ? '' : ` in ${where}`} (${pick.ids.slice(0, 5).join(', ')}); name it by its id instead.`,
    );
  }
  return new AppError(
    ErrorCodes.POWERBI_NOT_FOUND,
    `No ${what} named ${shown}${where === undefined ? '' : ` in ${where}`} is visible to this app: check the name, and that the app's service principal has a role in the workspace.`,
  );
}
