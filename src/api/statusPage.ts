import fs from 'node:fs';
import path from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';

/**
 * The status page (issue 15): an HTML shell, its script and its style, built by web/build.js into
 * dist/src/web and shipped in the package with the compiled app.
 *
 * Anonymous on purpose: a browser cannot send a header when it navigates, and the key must not go
 * into a URL (browser history, proxies). The shell holds no data and no secret, like
 * /api/openapi.json; the page asks for the function key and sends it as x-functions-key on every
 * API call, which is where the data is and where the key is checked.
 */
export const STATUS_PAGE_ASSETS: Record<string, string> = {
  '': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};
const FILE_OF: Record<string, string> = { '': 'index.html', 'app.js': 'app.js', 'app.css': 'app.css', 'icon.svg': 'icon.svg' };

/** Only the page's own files, no inline script or style, no other origin. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': STATUS_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-cache',
};

/** The package root (the folder with package.json): dist/src/web lives under it, in development and deployed. */
function builtPageDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.join(dir, 'dist', 'src', 'web');
}

/** The route's handler over the page built into `assetsDir` (the package's dist/src/web by default). */
export function statusPageHandler(assetsDir: string = builtPageDir()): (request: HttpRequest) => Promise<HttpResponseInit> {
  const cache = new Map<string, Buffer>();
  function readAsset(name: string): Buffer | undefined {
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const file = FILE_OF[name];
    if (file === undefined) return undefined;
    try {
      const content = fs.readFileSync(path.join(assetsDir, file));
      cache.set(name, content);
      return content;
    } catch {
      return undefined;
    }
  }
  return async (request) => {
    const asset = (request.params.asset ?? '').replace(/\/+$/, '');
    const type = Object.prototype.hasOwnProperty.call(STATUS_PAGE_ASSETS, asset) ? STATUS_PAGE_ASSETS[asset] : undefined;
    if (type === undefined) return { status: 404, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, body: 'Not found.' };
    const content = readAsset(asset);
    // Named without a path: the page is not built into this package (npm run build builds it).
    if (content === undefined) return { status: 503, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, body: 'The status page is not built into this package.' };
    return { status: 200, headers: { ...SECURITY_HEADERS, 'content-type': type }, body: content };
  };
}
