/**
 * Stand-in for `@azure/functions-core`, the module the real Node.js worker injects into the app
 * (azure-functions-nodejs-worker `src/setupCoreModule.ts`). `@azure/functions` requires it lazily
 * and calls `registerFunction` for every `app.*` registration. This shim forwards each call to
 * the local host that is loading the app at that moment (see `coreModule.ts`).
 * Outside jest it is reached through a `Module._resolveFilename` hook; inside jest through
 * `moduleNameMapper` in jest.config.js.
 */
import { currentCoreSink, type RegisteredFunctionMetadata } from './coreModule';

export const version = '3.10.1-local-durable-host';

export function registerFunction(metadata: RegisteredFunctionMetadata, handler: (...args: unknown[]) => unknown): { dispose(): void } {
  const dispose = currentCoreSink().registerFunction(metadata, handler);
  return { dispose };
}

export function registerHook(_hookName: string, _callback: (...args: unknown[]) => unknown): { dispose(): void } {
  // Hooks (appStart, preInvocation, ...) are accepted and not invoked by the local host.
  return { dispose: () => undefined };
}

export function setProgrammingModel(_model: unknown): void {
  // The local host builds @azure/functions' own HttpRequest/InvocationContext objects directly.
}

export function getProgrammingModel(): undefined {
  return undefined;
}

export function log(level: string, _category: string, message: string): void {
  currentCoreSink().log(level, message);
}

export class Disposable {
  constructor(private readonly callOnDispose: () => void) {}
  dispose(): void {
    this.callOnDispose();
  }
}
