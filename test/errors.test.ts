import { AppError, codeOf, detailOf, ErrorCodes, safeText, scrubPaths } from '../src/errors';
import { logEvent } from '../src/logging';

/**
 * How an activity's error comes back to the orchestrator in Azure: the Functions host wraps the
 * worker's failure in an RpcException, the Durable extension fails the task with
 * "Activity function '<name>' failed: <message>" and the serialised .NET exception as details,
 * and durable-functions (TaskOrchestrationExecutor) rebuilds `new Error(`${Reason} \n ${Details}`)`.
 */
function asDurableRebuildsIt(activity: string, thrown: Error): Error {
  const stack = thrown.stack ?? '';
  const rpc = {
    $type: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script',
    IsUserException: false,
    RemoteStackTrace: stack,
    RemoteMessage: thrown.message,
    ClassName: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException',
    Message: `Result: Failure\nException: ${thrown.message}\nStack: ${stack}`,
    StackTraceString: '   at Microsoft.Azure.WebJobs.Script.Description.WorkerFunctionInvoker.InvokeCore(Object[] parameters) in /_/src/WebJobs.Script/Description/Workers/WorkerFunctionInvoker.cs:line 101',
  };
  const details = JSON.stringify({ $type: 'System.Exception, System.Private.CoreLib', ClassName: 'System.Exception', Message: ` ${thrown.message}`, InnerException: rpc });
  return new Error(`Activity function '${activity}' failed:  ${thrown.message} \n ${details}`);
}

/** Azure's older out-of-process reason: the RpcException's whole message in the reason. */
function asRpcReason(activity: string, thrown: Error): Error {
  return new Error(`Activity function '${activity}' failed: Result: Failure\nException: ${thrown.message}\nStack: ${thrown.stack ?? ''}`);
}

const withStack = (message: string) => {
  const error = new Error(message);
  error.stack = `Error: ${message}\n    at submit (/home/site/wwwroot/dist/src/aas/client.js:120:11)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`;
  return error;
};

/** What must never reach a run's error, a callback, a log message or an API answer. */
function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/\n|\$type|RpcException|System\.Exception|StackTrace|Result: Failure|\bat \S+ \(|\/home\/|\/_\/|node:internal|\.js:\d|\.cs:line/);
}

describe('error codes', () => {
  it.each([
    [new AppError(ErrorCodes.AAS_CONFLICT, 'busy'), 'AAS_CONFLICT', 'busy'],
    [new Error('[AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN] not an admin'), 'AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN', 'not an admin'],
    [new Error("Activity function 'submitRefresh' failed: [AUTH_KEY_VAULT_FORBIDDEN] grant the role\n\n$OutOfProcData$:{}"), 'AUTH_KEY_VAULT_FORBIDDEN', 'grant the role'],
    [new Error('[NOT_A_CODE] [AAS_TRANSIENT] reset'), 'AAS_TRANSIENT', 'reset'],
    [new Error('plain failure'), 'INTERNAL', 'plain failure'],
    ['a string', 'INTERNAL', 'a string'],
  ])('reads the code and detail of %p', (error, code, detail) => {
    expect(codeOf(error)).toBe(code);
    expect(detailOf(error)).toBe(detail);
  });

  it('keeps the retry facts on AppError', () => {
    const error = new AppError(ErrorCodes.AAS_THROTTLED, 'slow down', { retryable: true, retryAfterMs: 5000, httpStatus: 429, rootActivityId: 'abc' });
    expect(error).toMatchObject({ code: 'AAS_THROTTLED', retryable: true, retryAfterMs: 5000, httpStatus: 429, rootActivityId: 'abc', name: 'AppError' });
    expect(error.message).toBe('[AAS_THROTTLED] slow down');
  });
});

describe('error text: the app\'s own message only', () => {
  const appError = new AppError(ErrorCodes.AAS_TRANSIENT, 'AAS answered 503 Service Unavailable to the refresh submit; it will be retried.');

  it.each([
    ['the Durable extension with its serialised .NET exception', asDurableRebuildsIt('submitRefresh', withStack(appError.message))],
    ["the host's RpcException reason", asRpcReason('submitRefresh', withStack(appError.message))],
  ])('takes the message out of %s', (_shape, rebuilt) => {
    expect(codeOf(rebuilt)).toBe('AAS_TRANSIENT');
    expect(detailOf(rebuilt)).toBe(appError.detail);
  });

  it.each([
    ['the Durable extension', asDurableRebuildsIt('getRefreshStatus', withStack("Cannot read properties of undefined (reading 'status')"))],
    ["the host's RpcException reason", asRpcReason('getRefreshStatus', withStack("Cannot read properties of undefined (reading 'status')"))],
  ])('keeps an unexpected error to its first line from %s', (_shape, rebuilt) => {
    expect(codeOf(rebuilt)).toBe('INTERNAL');
    expect(detailOf(rebuilt)).toBe("Activity function 'getRefreshStatus' failed: Cannot read properties of undefined (reading 'status')");
  });

  it('says "an unexpected error" when all there is is a serialised exception', () => {
    expect(detailOf(new Error(`Activity function 'sendCallback' failed:  \n ${JSON.stringify({ $type: 'System.Exception', Message: '' })}`))).toBe(
      "Activity function 'sendCallback' failed: an unexpected error (the function app logs have the details)",
    );
  });

  it('replaces file paths, not URLs, server names or routes', () => {
    expect(detailOf(new Error("ENOENT: no such file or directory, open '/home/site/wwwroot/certs/sp.pem'"))).toBe("ENOENT: no such file or directory, open '<path>'");
    expect(scrubPaths('at C:\\home\\site\\wwwroot\\dist\\src\\x.js:1:2 and dist/src/activities/activities.js:12:3')).toBe('at <path> and <path>');
    const kept = 'asazure://westeurope.asazure.windows.net/myserver, https://example.com/a/b.json, GET /api/refreshes/abc';
    expect(scrubPaths(kept)).toBe(kept);
  });

  it('makes AppError messages one line without paths (Entra messages come with line breaks)', () => {
    const error = new AppError(ErrorCodes.AUTH_INVALID_CLIENT, 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1f2e\r\nCorrelation ID: 3d4c');
    expect(error.detail).toBe('AADSTS7000215: Invalid client secret provided. Trace ID: 1f2e Correlation ID: 3d4c');
    expect(new AppError(ErrorCodes.AUTH_CERTIFICATE_UNREADABLE, 'The file /home/me/sp.pem cannot be read (ENOENT).').detail).toBe('The file <path> cannot be read (ENOENT).');
  });

  it('never lets a stack, a .NET blob or a path through, whatever the code and the wrapping (property-style)', () => {
    const tails = ['', '\n    at x (/home/site/wwwroot/dist/src/a.js:1:2)', ' \n {"$type":"System.Exception","StackTraceString":"at /_/src/x.cs:line 3"}', '\r\nStack: Error\n at node:internal/timers:1:1'];
    let checked = 0;
    for (const code of Object.values(ErrorCodes)) {
      for (const tail of tails) {
        const thrown = withStack(`${new AppError(code, `something about ${code} happened`).message}${tail}`);
        for (const rebuilt of [asDurableRebuildsIt('anActivity', thrown), asRpcReason('anActivity', thrown), thrown]) {
          expectNoLeak(detailOf(rebuilt));
          expect(detailOf(rebuilt)).toContain(`something about ${code} happened`);
          checked++;
        }
      }
    }
    expect(checked).toBe(Object.values(ErrorCodes).length * tails.length * 3);
  });

  it('keeps log attributes to one line without paths', () => {
    const lines: string[] = [];
    const sink = { info: (line: string) => lines.push(line), warn: (line: string) => lines.push(line), error: (line: string) => lines.push(line) };
    logEvent(sink, 'warn', 'aas.submitFailed', { code: 'INTERNAL', message: withStack('boom').stack, count: 2 });
    expect(lines).toEqual(['aas.submitFailed {"code":"INTERNAL","message":"Error: boom","count":2}']);
    expect(safeText('x'.repeat(5000))).toHaveLength(1000);
  });
});
