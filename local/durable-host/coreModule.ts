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
  registerFunction(metadata: RegisteredFunctionMetadata, handler: (...args: unknown[]) => unknown): void;
  log(level: string, message: string): void;
}

interface CoreGlobal {
  __localDurableHostSink?: CoreSink;
  __localDurableHostApps?: Map<string, RegisteredFunction[]>;
  __localDurableHostCoreHooked?: boolean;
}

const g = globalThis as CoreGlobal;

const fallbackSink: CoreSink = {
  registerFunction(metadata) {
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
  g.__localDurableHostSink = {
    registerFunction: (metadata, handler) => {
      collected.push({ metadata, handler });
    },
    log,
  };
  try {
    // A dynamic require is the point: the app is CommonJS and must load synchronously, as in the worker.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(resolved);
  } finally {
    g.__localDurableHostSink = previous;
  }
  g.__localDurableHostApps.set(resolved, collected);
  return collected;
}
