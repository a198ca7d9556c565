/**
 * The Node side of the real-engine host: what the Node worker does for the Functions host. The
 * .NET host (host/) posts each orchestration trigger payload and activity input here; the app's
 * own registered durable-functions handlers run, and their answer goes back unchanged.
 * 127.0.0.1 only.
 */
import { InvocationContext } from '@azure/functions';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegisteredBinding, RegisteredFunction } from '../durable-host/coreModule';

export interface BridgeOptions {
  functions: RegisteredFunction[];
  /** The durableClient binding data for activities that take a client input (the real extension's). */
  durableClientData: () => Record<string, unknown>;
  log: (line: string) => void;
}

export interface Bridge {
  url: string;
  close(): Promise<void>;
}

function triggerOf(fn: RegisteredFunction): RegisteredBinding | undefined {
  return Object.values(fn.metadata.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type));
}

/** The app's functions with the given trigger type, by name. */
export function functionsWithTrigger(functions: RegisteredFunction[], type: string): Map<string, RegisteredFunction> {
  return new Map(functions.filter((f) => triggerOf(f)?.type === type).map((f) => [f.metadata.name, f]));
}

/** As @azure/functions reads a string binding value: JSON when it parses, else the string. */
function fromBindingString(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function errorOf(err: unknown): { message: string; stack: string } {
  if (err instanceof Error) return { message: err.message, stack: err.stack ?? '' };
  return { message: String(err), stack: '' };
}

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const orchestrators = functionsWithTrigger(options.functions, 'orchestrationTrigger');
  const activities = functionsWithTrigger(options.functions, 'activityTrigger');
  const entities = functionsWithTrigger(options.functions, 'entityTrigger');

  // A fresh context per invocation: Orchestrator.handle sets context.df only when it is undefined.
  const contextFor = (fn: RegisteredFunction): InvocationContext => {
    const trigger = triggerOf(fn);
    const extraInputs = Object.entries(fn.metadata.bindings)
      .filter(([, b]) => b.direction === 'in' && b !== trigger)
      .map(([name, b]) => ({ ...b, name }));
    const ctx = new InvocationContext({
      invocationId: crypto.randomUUID(),
      functionName: fn.metadata.name,
      options: { trigger: trigger as never, extraInputs: extraInputs as never },
      logHandler: (level, ...args) => options.log(`[${fn.metadata.name}] ${level}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`),
    });
    for (const input of extraInputs) {
      if (input.type === 'durableClient' || input.type === 'orchestrationClient') ctx.extraInputs.set(input.name, options.durableClientData());
    }
    return ctx;
  };

  const answer = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };

  const invoke = async (kind: string, name: string, text: string): Promise<[number, unknown]> => {
    if (kind === 'orchestrations') {
      const fn = orchestrators.get(name);
      if (!fn) return [404, { message: `No orchestrator named '${name}'` }];
      const payload = JSON.parse(text) as unknown;
      try {
        return [200, { state: await fn.handler(payload, contextFor(fn)) }];
      } catch (err) {
        // The library rejects with the OrchestratorState after "$OutOfProcData$:" in the message.
        return [200, { error: errorOf(err) }];
      }
    }
    if (kind === 'activities') {
      const fn = activities.get(name);
      if (!fn) return [404, { message: `No activity named '${name}'` }];
      const { input } = JSON.parse(text) as { input: string | null };
      try {
        const result = await fn.handler(input === null ? undefined : fromBindingString(input), contextFor(fn));
        return [200, result === undefined ? {} : { result }];
      } catch (err) {
        return [200, { error: errorOf(err) }];
      }
    }
    if (kind === 'entities') {
      const fn = entities.get(name);
      if (!fn) return [404, { message: `No entity named '${name}'` }];
      // The batch as the Node worker hands a JSON trigger value: parsed ({ self, exists, state, batch }).
      try {
        return [200, { result: await fn.handler(JSON.parse(text) as unknown, contextFor(fn)) }];
      } catch (err) {
        return [200, { error: errorOf(err) }];
      }
    }
    return [404, { message: 'Not found' }];
  };

  const server = http.createServer((req, res) => {
    void (async (): Promise<void> => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const [, kind = '', name = ''] = (req.url ?? '/').split('?')[0]!.split('/').map(decodeURIComponent);
      if (req.method !== 'POST') return answer(res, 405, { message: 'POST only' });
      const [status, body] = await invoke(kind, name, Buffer.concat(chunks).toString('utf8'));
      answer(res, status, body);
    })().catch((err: unknown) => {
      options.log(`[real-engine bridge] error: ${errorOf(err).message}`);
      if (!res.headersSent) answer(res, 500, { message: 'bridge failure' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
