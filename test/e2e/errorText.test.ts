import { modelName, startAppStack, type AppStack } from '../support/appStack';

// A run whose activity keeps failing until Durable's retries run out: the failure comes back
// through the host in the Durable extension's shape (reason, then the serialised exception),
// and what the run, its callback, the API and the app's log events show is the app's own
// message, without a .NET exception blob, a stack trace or a file path.
let stack: AppStack;
beforeAll(async () => {
  stack = await startAppStack();
});
afterAll(async () => {
  await stack?.stop();
});

const LEAK = /\$type|RpcException|System\.Exception|StackTrace|Result: Failure|\n\s+at |\bat \S+ \(|\/home\/|\/work\/|node:internal|\.[jt]s:\d|\.cs:line/;
// The app's events: a fixed name, a space, a JSON object (src/logging.ts).
const APP_EVENT = /\] (?:information|warning|error): [a-z]+\.[A-Za-z]+ \{/;

describe('error text end to end', () => {
  it('shows only the app message when submitting keeps failing', async () => {
    const model = modelName(1);
    stack.emulators.aas.inject({ operation: 'submitRefresh', model, times: 10_000, fault: { status: 503 } });
    const id = await stack.start({ server: stack.server, model, sync: false, timeout: 'PT6H', callbackUrl: stack.callbackUrl });
    const run = await stack.finish(id);
    expect(run.body.status).toBe('failed');
    expect(run.body.error?.code).toBe('AAS_TRANSIENT');
    expect(run.body.error?.message).toMatch(/503/);
    for (const text of [run.body.error?.message ?? '', run.body.lastIssue?.message ?? '', run.text]) expect(text).not.toMatch(LEAK);
    const callback = stack.callbacks.find((entry) => JSON.stringify(entry.body).includes(id));
    expect(callback).toBeDefined();
    const callbackError = (callback?.body as { Error?: { ErrorCode: string; Message: string } }).Error;
    expect(callbackError).toEqual({ ErrorCode: 'AAS_TRANSIENT', Message: run.body.error?.message });
    const listed = await stack.request('GET', `refreshes?model=${model}`);
    expect(listed.text).not.toMatch(LEAK);
    const events = stack.logs.filter((line) => APP_EVENT.test(line));
    expect(events.length).toBeGreaterThan(0);
    expect(events.filter((line) => LEAK.test(line))).toEqual([]);
  });
});
