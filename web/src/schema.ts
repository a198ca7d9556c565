// The start form is built and checked from the request schema the app serves
// (GET /api/openapi.json, components.schemas.RefreshRequest): the fields, their kinds, enums,
// bounds, which fields are required (or which pairs, when the schema offers alternatives) and
// the aliases to leave out. The app checks the request again; its problems are shown as well.

export interface PropertySchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  examples?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  items?: PropertySchema;
  maxItems?: number;
  properties?: Record<string, PropertySchema>;
  required?: string[];
}

export interface RequestSchema {
  properties: Record<string, PropertySchema>;
  /** Each entry a set of fields that together name the model (one set when the schema has no alternatives). */
  requiredSets: string[][];
  /** True when the alternatives exclude each other (oneOf). */
  exclusive: boolean;
}

type Document = { components?: { schemas?: Record<string, unknown> } };

function resolve(document: Document, schema: unknown): PropertySchema {
  let current = schema as PropertySchema;
  for (let depth = 0; depth < 8 && typeof current?.$ref === 'string'; depth++) {
    const name = /^#\/components\/schemas\/(.+)$/.exec(current.$ref)?.[1];
    current = (name === undefined ? {} : (document.components?.schemas?.[name] ?? {})) as PropertySchema;
  }
  return current ?? {};
}

export function requestSchemaOf(document: unknown): RequestSchema | undefined {
  const doc = document as Document;
  const raw = doc?.components?.schemas?.RefreshRequest as (PropertySchema & { anyOf?: unknown[]; oneOf?: unknown[] }) | undefined;
  if (raw === undefined || typeof raw.properties !== 'object') return undefined;
  const properties: Record<string, PropertySchema> = {};
  for (const [name, value] of Object.entries(raw.properties)) properties[name] = resolve(doc, value);
  const alternatives = (raw.oneOf ?? raw.anyOf ?? []).map((entry) => resolve(doc, entry).required).filter((set): set is string[] => Array.isArray(set) && set.length > 0);
  const base = Array.isArray(raw.required) ? raw.required : [];
  const requiredSets = alternatives.length > 0 ? alternatives.map((set) => [...new Set([...base, ...set])]) : [base];
  return { properties, requiredSets, exclusive: raw.oneOf !== undefined };
}

/** Fields another field's description names as its alias ("also accepted as callBackUri"). */
export function aliasFields(schema: RequestSchema): Set<string> {
  const aliases = new Set<string>();
  for (const property of Object.values(schema.properties)) {
    const alias = /also accepted as ([A-Za-z]+)/.exec(property.description ?? '')?.[1];
    if (alias !== undefined && alias in schema.properties) aliases.add(alias);
  }
  return aliases;
}

export function typeOf(property: PropertySchema): string {
  const type = Array.isArray(property.type) ? property.type.find((t) => t !== 'null') : property.type;
  return type ?? (property.enum !== undefined ? 'string' : 'string');
}

/** Problems with one field's value (already converted to its JSON type), in words for the form. */
export function checkValue(label: string, property: PropertySchema, value: unknown): string[] {
  const problems: string[] = [];
  const type = typeOf(property);
  if (type === 'integer' || type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value) || (type === 'integer' && !Number.isInteger(value))) return [`${label} must be a whole number.`];
    if (property.minimum !== undefined && value < property.minimum) problems.push(`${label} must be at least ${property.minimum}.`);
    if (property.maximum !== undefined && value > property.maximum) problems.push(`${label} must be at most ${property.maximum}.`);
  } else if (type === 'string') {
    if (typeof value !== 'string') return [`${label} must be text.`];
    if (property.enum !== undefined && !property.enum.includes(value)) problems.push(`${label} must be one of ${property.enum.join(', ')}.`);
    if (property.minLength !== undefined && value.length < property.minLength) problems.push(`${label} must have at least ${property.minLength} characters.`);
    if (property.maxLength !== undefined && value.length > property.maxLength) problems.push(`${label} must have at most ${property.maxLength} characters.`);
    if (property.pattern !== undefined && !new RegExp(property.pattern, 'u').test(value)) problems.push(`${label} does not have the expected form.`);
    if (property.format === 'uri') {
      try {
        new URL(value);
      } catch {
        problems.push(`${label} must be an absolute URL (https://…).`);
      }
    }
  } else if (type === 'array') {
    if (!Array.isArray(value)) return [`${label} must be a list.`];
    if (property.maxItems !== undefined && value.length > property.maxItems) problems.push(`${label} may list at most ${property.maxItems} entries.`);
    const item = property.items;
    if (item?.properties !== undefined) {
      value.forEach((entry: Record<string, unknown>, index) => {
        for (const field of item.required ?? []) if (typeof entry[field] !== 'string' || entry[field] === '') problems.push(`${label}, line ${index + 1}: ${field} is missing.`);
      });
    }
  } else if (type === 'boolean' && typeof value !== 'boolean') {
    problems.push(`${label} must be yes or no.`);
  }
  return problems;
}

/** Which required fields are missing: empty when one of the sets is complete. */
export function missingRequired(schema: RequestSchema, given: Set<string>): { missing: string[]; message?: string } {
  const complete = schema.requiredSets.filter((set) => set.every((field) => given.has(field)));
  if (schema.exclusive && complete.length > 1) {
    return { missing: [], message: `Give ${schema.requiredSets.map((set) => set.join(' and ')).join(', or ')}, not more than one of these.` };
  }
  if (complete.length > 0) return { missing: [] };
  // Point at the set the user has started on (most fields given).
  const closest = [...schema.requiredSets].sort((a, b) => b.filter((f) => given.has(f)).length - a.filter((f) => given.has(f)).length)[0] ?? [];
  const message = schema.requiredSets.length > 1 ? `Give ${schema.requiredSets.map((set) => set.join(' and ')).join(', or ')}.` : undefined;
  return { missing: closest.filter((field) => !given.has(field)), message };
}
