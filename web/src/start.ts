import { api, ApiProblem } from './api';
import { h, replace, announce, viewOpened } from './dom';
import { aliasFields, checkValue, missingRequired, requestSchemaOf, typeOf, type PropertySchema, type RequestSchema } from './schema';

const OBJECT_SEPARATOR = ' :: ';

export function humanize(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return (words.charAt(0).toUpperCase() + words.slice(1)).replace(/\b(url|uri|id)\b/g, (acronym) => acronym.toUpperCase());
}

interface Field {
  name: string;
  label: string;
  property: PropertySchema;
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
  /** The value as JSON, or undefined when left empty (the app's default applies). */
  read(): unknown;
}

export async function renderStart(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const heading = h('h1', { tabindex: '-1' }, 'Start a refresh');
  const body = h('div', {}, h('p', {}, 'Loading the request schema…'));
  replace(main, heading, body);
  viewOpened(heading);
  let schema: RequestSchema | undefined;
  try {
    schema = requestSchemaOf((await api<unknown>('GET', 'openapi.json')).body);
  } catch (error) {
    replace(body, h('p', { class: 'error', role: 'alert' }, error instanceof ApiProblem ? error.message : 'The request schema could not be read.'));
    return;
  }
  if (schema === undefined) {
    replace(body, h('p', { class: 'error', role: 'alert' }, 'The app serves no request schema (components.schemas.RefreshRequest in /api/openapi.json).'));
    return;
  }
  replace(body, buildForm(schema, params));
}

function buildForm(schema: RequestSchema, params: URLSearchParams): HTMLFormElement {
  const skipped = aliasFields(schema);
  const requiredEverywhere = new Set(schema.requiredSets.reduce<string[]>((acc, set, i) => (i === 0 ? set : acc.filter((f) => set.includes(f))), []));
  const requiredSomewhere = new Set(schema.requiredSets.flat());
  const fields: Field[] = [];
  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const form = h('form', { novalidate: true, 'aria-describedby': 'start-intro' });
  form.append(
    h(
      'p',
      { id: 'start-intro' },
      schema.requiredSets.length > 1
        ? `Name the model with ${schema.requiredSets.map((set) => set.join(' and ')).join(', or ')}. Empty fields take the app's defaults.`
        : "Fields marked required must be filled; empty fields take the app's defaults.",
    ),
    summary,
  );

  for (const [name, property] of Object.entries(schema.properties)) {
    if (skipped.has(name)) continue;
    const label = humanize(name);
    const id = `field-${name}`;
    const hintText = [property.description, property.default !== undefined ? `Default: ${String(property.default)}.` : undefined, name === 'objects' ? `One per line: a table, or table${OBJECT_SEPARATOR}partition. Empty: the whole model.` : undefined]
      .filter(Boolean)
      .join(' ');
    const hint = hintText === '' ? undefined : h('p', { class: 'hint', id: `hint-${name}` }, hintText);
    const error = h('p', { class: 'field-error', id: `error-${name}`, hidden: true });
    const describedBy = [hint === undefined ? '' : `hint-${name}`, `error-${name}`].filter(Boolean).join(' ');
    const type = typeOf(property);
    const required = requiredEverywhere.has(name);
    let control: Field['control'];
    let read: () => unknown;
    if (property.enum !== undefined || type === 'boolean') {
      const options = type === 'boolean' ? ['true', 'false'] : property.enum!.map(String);
      control = h('select', { id, name, 'aria-describedby': describedBy }, h('option', { value: '' }, property.default !== undefined ? `Default (${String(property.default)})` : "The app's default"), ...options.map((option) => h('option', { value: option }, type === 'boolean' ? (option === 'true' ? 'Yes' : 'No') : option)));
      read = () => (control.value === '' ? undefined : type === 'boolean' ? control.value === 'true' : control.value);
    } else if (type === 'array') {
      control = h('textarea', { id, name, rows: 4, 'aria-describedby': describedBy, spellcheck: 'false' });
      read = () => {
        const lines = control.value.split('\n').map((line) => line.trim()).filter((line) => line !== '');
        if (lines.length === 0) return undefined;
        return lines.map((line) => {
          const at = line.indexOf(OBJECT_SEPARATOR.trim());
          if (at < 0) return { table: line };
          const table = line.slice(0, at).trim();
          const partition = line.slice(at + OBJECT_SEPARATOR.trim().length).trim();
          return partition === '' ? { table } : { table, partition };
        });
      };
    } else {
      const number = type === 'integer' || type === 'number';
      control = h('input', {
        id,
        name,
        type: number ? 'number' : property.format === 'uri' ? 'url' : 'text',
        inputmode: number ? 'numeric' : undefined,
        min: property.minimum,
        max: property.maximum,
        step: type === 'integer' ? 1 : undefined,
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-describedby': describedBy,
        'aria-required': required ? 'true' : undefined,
        placeholder: property.examples?.[0] !== undefined ? String(property.examples[0]) : undefined,
      });
      read = () => {
        const text = control.value.trim();
        if (text === '') return undefined;
        return number ? Number(text) : text;
      };
    }
    const preset = params.get(name);
    if (preset !== null && !(control instanceof HTMLSelectElement)) control.value = preset;
    const marker = required ? ' (required)' : requiredSomewhere.has(name) ? ' (one pair required)' : '';
    form.append(h('div', { class: 'field' }, h('label', { for: id }, label, marker), hint, error, control));
    fields.push({ name, label, property, control, error, read });
  }

  const submit = h('button', { type: 'submit' }, 'Start the refresh');
  const outcome = h('div', { class: 'outcome' });
  form.append(h('div', { class: 'actions' }, submit), outcome);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });

  async function send(): Promise<void> {
    const body: Record<string, unknown> = {};
    const problems: { field?: Field; text: string }[] = [];
    for (const field of fields) {
      field.error.hidden = true;
      field.control.removeAttribute('aria-invalid');
      const value = field.read();
      if (value === undefined) continue;
      for (const text of checkValue(field.label, field.property, value)) problems.push({ field, text });
      body[field.name] = value;
    }
    const required = missingRequired(schema, new Set(Object.keys(body)));
    for (const name of required.missing) {
      const field = fields.find((f) => f.name === name);
      problems.push({ field, text: `${field?.label ?? name} is required.` });
    }
    if (required.message !== undefined && (required.missing.length > 0 || problems.length === 0)) problems.push({ text: required.message });
    replace(outcome);
    if (problems.length > 0) {
      showProblems(problems);
      return;
    }
    summary.hidden = true;
    submit.disabled = true;
    try {
      const answer = await api<{ id: string }>('POST', 'refreshes', undefined, body);
      announce('Refresh started.');
      location.hash = `#/runs/${encodeURIComponent(answer.body.id)}`;
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      const active = typeof error.extra.activeRunId === 'string' ? error.extra.activeRunId : undefined;
      showProblems([{ text: error.message }, ...error.problems.map((text) => ({ text }))], active);
    } finally {
      submit.disabled = false;
    }
  }

  function showProblems(problems: { field?: Field; text: string }[], activeRunId?: string): void {
    for (const problem of problems) {
      if (problem.field === undefined) continue;
      problem.field.error.hidden = false;
      problem.field.error.textContent = problems.filter((p) => p.field === problem.field).map((p) => p.text).join(' ');
      problem.field.control.setAttribute('aria-invalid', 'true');
    }
    const list = h('ul');
    for (const problem of problems) {
      const field = problem.field;
      list.append(h('li', {}, field === undefined ? problem.text : h('a', { href: `#${field.control.id}`, onclick: (event: Event) => (event.preventDefault(), field.control.focus()) }, problem.text)));
    }
    replace(summary, h('h2', {}, 'The request is not valid yet'), list, activeRunId === undefined ? undefined : h('p', {}, h('a', { href: `#/runs/${encodeURIComponent(activeRunId)}` }, 'Open the run that is refreshing this model')));
    summary.hidden = false;
    summary.focus();
  }

  return form;
}
