// The status page (issue 15): plain TypeScript and the DOM, bundled by esbuild (web/build.js).
// Routes live in the URL fragment (#/runs, #/runs/<id>, #/model?…, #/start), which the browser
// never sends to the app; the function key is never part of any URL.
import { api, ApiProblem, functionKey, KeyRefused, setFunctionKey } from './api';
import { h, replace, userNavigated } from './dom';
import { renderModel } from './model';
import { renderRun, type LiveHandle } from './run';
import { renderRuns, type ListLimits } from './runs';
import { renderStart } from './start';

const FALLBACK_LIMITS: ListLimits = { statuses: ['pending', 'waiting', 'refreshing', 'cancelling', 'syncing', 'succeeded', 'failed', 'cancelled', 'timedOut'], maxLimit: 200, createdFrom: false };
let limits: ListLimits | undefined;
let live: LiveHandle | undefined;
let keyMessage: string | undefined;
/** Counts navigations, so that a view still loading when the user moves on stops itself. */
let generation = 0;

/** Statuses and the largest page of GET /refreshes, from the API description the app serves. */
async function listLimits(): Promise<ListLimits> {
  if (limits !== undefined) return limits;
  try {
    const document = (await api<{ paths?: Record<string, { get?: { parameters?: { name: string; schema?: { enum?: string[]; maximum?: number } }[] } }> }>('GET', 'openapi.json')).body;
    const parameters = document.paths?.['/refreshes']?.get?.parameters ?? [];
    const statuses = parameters.find((p) => p.name === 'status')?.schema?.enum;
    const maxLimit = parameters.find((p) => p.name === 'limit')?.schema?.maximum;
    limits = { statuses: statuses ?? FALLBACK_LIMITS.statuses, maxLimit: maxLimit ?? FALLBACK_LIMITS.maxLimit, createdFrom: parameters.some((p) => p.name === 'createdFrom') };
  } catch {
    limits = FALLBACK_LIMITS;
  }
  return limits;
}

function renderNav(): void {
  const nav = document.getElementById('nav');
  if (nav === null) return;
  if (functionKey() === undefined) {
    replace(nav);
    return;
  }
  const forget = h('button', { type: 'button', class: 'link' }, 'Forget the key');
  forget.addEventListener('click', () => {
    setFunctionKey(undefined);
    keyMessage = 'The key is forgotten in this tab.';
    void route();
  });
  replace(nav, h('ul', {}, h('li', {}, h('a', { href: '#/runs' }, 'Runs')), h('li', {}, h('a', { href: '#/start' }, 'Start a refresh')), h('li', {}, forget)));
}

function renderKeyGate(main: HTMLElement): void {
  const input = h('input', { id: 'function-key', name: 'key', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'key-hint' });
  const message = h('p', { class: keyMessage === undefined ? 'hint' : 'error', role: 'alert' }, keyMessage ?? '');
  const form = h(
    'form',
    { class: 'key' },
    h('div', { class: 'field' }, h('label', { for: 'function-key' }, 'Function key'), h('p', { class: 'hint', id: 'key-hint' }, "The app's function key (Azure portal: the function app, App keys). Kept only in this browser tab and sent as a header, never in a URL."), input),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open the status page')),
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === '') {
      message.className = 'error';
      message.textContent = 'Enter the function key.';
      input.focus();
      return;
    }
    setFunctionKey(key);
    keyMessage = undefined;
    userNavigated();
    void route();
  });
  const heading = h('h1', { tabindex: '-1' }, 'Refresh status');
  replace(main, heading, form);
  input.focus();
}

async function route(): Promise<void> {
  const main = document.getElementById('main');
  if (main === null) return;
  live?.stop();
  live = undefined;
  const current = ++generation;
  renderNav();
  if (functionKey() === undefined) {
    renderKeyGate(main);
    return;
  }
  const [path = '', search = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(search);
  try {
    const runMatch = /^\/runs\/([0-9A-Za-z-]{1,128})$/.exec(path);
    if (runMatch?.[1] !== undefined) live = renderRun(main, runMatch[1]);
    else if (path === '/model') await renderModel(main, params);
    else if (path === '/start') await renderStart(main, params);
    else {
      const handle = await renderRuns(main, params, await listLimits());
      if (current === generation) live = handle;
      else handle.stop();
    }
  } catch (error) {
    if (error instanceof KeyRefused) {
      setFunctionKey(undefined);
      keyMessage = 'The app refused that key. Enter the function key again.';
      void route();
      return;
    }
    replace(main, h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, error instanceof ApiProblem ? error.message : 'The page could not show this view. Reload to try again.'));
  }
}

function skipLink(): void {
  const link = h('a', { class: 'skip', href: '#main' }, 'Skip to the content');
  link.addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main')?.focus();
  });
  document.body.prepend(link);
}

window.addEventListener('hashchange', () => {
  userNavigated();
  void route();
});
// Errors inside live updates: shown in words, never as a stack trace.
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  if (event.reason instanceof KeyRefused) {
    setFunctionKey(undefined);
    keyMessage = 'The app refused that key. Enter the function key again.';
    void route();
  }
});
skipLink();
void route();
