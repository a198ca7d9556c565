/**
 * Makes `@azure/functions-core` resolvable for the app and collects what the app registers.
 * The app's registrations are remembered per entry file (module caches mean an entry's top-level
 * code runs only once per process, or once per jest test file).
 */
import Module from 'node:module';
import * as path from 'node:path';

export interface RegisteredBinding {
  type: string;
  direction?: string;
  name?: string;
  [key: string]: unknown;
}

export interface RegisteredFunctionMetadata {
  name: string;
  bindings: Record<string, RegisteredBinding>;
  retryOptions?: unknown;
}

export interface RegisteredFunction {
  metadata: RegisteredFunctionMetadata;
  handler: (...args: unknown[]) => unknown;
}

export interface CoreSink {
  /** Returns the registration's dispose function. */
  registerFunction(metadata: RegisteredFunctionMetadata, handler: (...args: unknown[]) => unknown): () => void;
  log(level: string, message: string): void;
}

interface CoreGlobal {
  __localDurableHostSink?: CoreSink;
  __localDurableHostApps?: Map<string, RegisteredFunction[]>;
  __localDurableHostCoreHooked?: boolean;
}

const g = globalThis as CoreGlobal;

/** The Node worker's messages (azure-functions-nodejs-worker src/coreApi/registerFunction.ts). */
export const REGISTER_AFTER_STARTUP = 'A function can only be registered during app startup.';
const DISPOSE_AFTER_STARTUP = 'A function can only be disposed during app startup.';

const fallbackSink: CoreSink = {
  registerFunction(metadata) {
    // Once an app is indexed the worker locks registration: a late `app.*` call (after an await,
    // in a timer, inside a handler) throws instead of adding a function nobody can invoke.
    if (g.__localDurableHostApps && g.__localDurableHostApps.size > 0) throw new Error(REGISTER_AFTER_STARTUP);
    throw new Error(`@azure/functions registered "${metadata.name}" while no local durable host was loading an app`);
  },
  log(level, message) {
    console.log(`[functions-core ${level}] ${message}`);
  },
};

export function currentCoreSink(): CoreSink {
  return g.__localDurableHostSink ?? fallbackSink;
}

/** Outside jest: answer `require('@azure/functions-core')` with the shim, as the real worker does. */
function hookCoreModule(): void {
  if (g.__localDurableHostCoreHooked) return;
  g.__localDurableHostCoreHooked = true;
  const shimPath = require.resolve('./coreModuleShim');
  // Module._resolveFilename is internal and untyped; the real worker patches the same seam.
  const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = mod._resolveFilename;
  mod._resolveFilename = function (request: string, ...rest: unknown[]): string {
    if (request === '@azure/functions-core') return shimPath;
    return original.call(this, request, ...rest);
  };
}

/** Loads the app entry (once per module registry) and returns the functions it registered. */
export function loadApp(entry: string, log: (level: string, message: string) => void): RegisteredFunction[] {
  const resolved = path.resolve(entry);
  g.__localDurableHostApps ??= new Map();
  const known = g.__localDurableHostApps.get(resolved);
  if (known) return known;
  hookCoreModule();
  const collected: RegisteredFunction[] = [];
  const previous = g.__localDurableHostSink;
  let indexed = false;
  g.__localDurableHostSink = {
    registerFunction: (metadata, handler) => {
      if (indexed) throw new Error(REGISTER_AFTER_STARTUP);
      // The worker keys functions by id (the name unless the app sets functionId) and refuses a
      // second registration of the same id.
      const id = (metadata as { functionId?: string }).functionId ?? metadata.name;
      if (collected.some((f) => ((f.metadata as { functionId?: string }).functionId ?? f.metadata.name) === id)) {
        throw new Error(`A function with id "${id}" has already been registered.`);
      }
      const entry = { metadata, handler };
      collected.push(entry);
      return () => {
        if (indexed) throw new Error(DISPOSE_AFTER_STARTUP);
        collected.splice(collected.indexOf(entry), 1);
      };
    },
    log,
  };
  try {
    // A dynamic require is the point: the app is CommonJS and must load synchronously, as in the worker.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(resolved);
  } finally {
    indexed = true;
    g.__localDurableHostSink = previous;
  }
  g.__localDurableHostApps.set(resolved, collected);
  return collected;
}
