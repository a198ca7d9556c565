/**
 * Parts of the entity fixture apps (test/durable-host/fixtures/entityApp.ts and
 * test/conformance/fixtures/entityApp.ts), so the local durable host and the real extension are
 * tried with the same entity, orchestration and HTTP functions. Each app registers them under its
 * own names.
 */
import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { EntityContext, OrchestrationContext } from 'durable-functions';

type CounterOperation = (ctx: EntityContext<number>, state: number) => void | Promise<void>;

/** A number entity: add, get, fail (throws), delete, and the app's own further operations. */
export function counterEntity(more: Record<string, CounterOperation> = {}): (ctx: EntityContext<number>) => Promise<void> {
  return async (ctx) => {
    const state = ctx.df.getState(() => 0) ?? 0;
    switch (ctx.df.operationName) {
      case 'add':
        ctx.df.setState(state + (ctx.df.getInput<number>() ?? 0));
        return;
      case 'get':
        ctx.df.return(state);
        return;
      case 'fail':
        throw new Error('counter refused');
      case 'delete':
        ctx.df.destructOnExit();
        return;
    }
    const operation = more[ctx.df.operationName ?? ''];
    if (operation === undefined) throw new Error(`unknown operation ${ctx.df.operationName}`);
    await operation(ctx, state);
  };
}

/**
 * Signals a Counter (key: the input, default k), calls it with answers, calls an operation that
 * throws, then runs `activity` with `activityInput(afterCall)`: the task ids of all must line up.
 */
export function useCounterOrchestration(activity: string, activityInput: (afterCall: number) => unknown) {
  return function* (ctx: OrchestrationContext) {
    const counter = new df.EntityId('Counter', ctx.df.getInput<string>() ?? 'k');
    ctx.df.signalEntity(counter, 'add', 5);
    const afterSignal: number = yield ctx.df.callEntity(counter, 'get');
    yield ctx.df.callEntity(counter, 'add', 10);
    const afterCall: number = yield ctx.df.callEntity(counter, 'get');
    let failure = '';
    try {
      yield ctx.df.callEntity(counter, 'fail');
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    const echo: string = yield ctx.df.callActivity(activity, activityInput(afterCall));
    return { afterSignal, afterCall, failure, echo };
  };
}

/** Calls an entity no function answers to. */
export function* callUnknownEntity(ctx: OrchestrationContext) {
  yield ctx.df.callEntity(new df.EntityId('NoSuchEntity', 'k'), 'get');
  return 'unreachable';
}

/**
 * The app side: the durable-functions client signals (`POST /api/entities/{name}/{key}/{op}`, a
 * JSON body as the input) and reads (`GET /api/entities/{name}/{key}`) entities over the
 * extension's HTTP API.
 */
export function registerEntityClientFunctions(): void {
  app.http('signalEntity', {
    route: 'entities/{name}/{key}/{op}',
    methods: ['POST'],
    extraInputs: [df.input.durableClient()],
    handler: async (req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> => {
      const client = df.getClient(ctx);
      const text = await req.text();
      try {
        await client.signalEntity(new df.EntityId(req.params.name ?? '', req.params.key ?? ''), req.params.op, text ? (JSON.parse(text) as unknown) : undefined);
      } catch (err) {
        return { status: 400, jsonBody: { error: err instanceof Error ? err.message : String(err) } };
      }
      return { status: 202 };
    },
  });

  app.http('readEntity', {
    route: 'entities/{name}/{key}',
    methods: ['GET'],
    extraInputs: [df.input.durableClient()],
    handler: async (req: HttpRequest, ctx: InvocationContext): Promise<HttpResponseInit> => {
      const response = await df.getClient(ctx).readEntityState<unknown>(new df.EntityId(req.params.name ?? '', req.params.key ?? ''));
      return { status: 200, jsonBody: { entityExists: response.entityExists, entityState: response.entityState ?? null } };
    },
  });
}
