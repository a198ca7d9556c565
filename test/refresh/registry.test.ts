import { backends } from '../../src/backends';
import { loadConfig } from '../../src/config/config';
import { AppError, ErrorCodes, kindOf } from '../../src/errors';
import { readRunRequest } from '../../src/orchestration/contracts';
import { createBackendRegistry, registered } from '../../src/refresh/registry';
import { aasBackend } from '../../src/backends/aas';
import { readTarget } from '../../src/refresh/target';

const config = loadConfig({ AUTH_MODE: 'managedIdentity' });

describe('targets stored before the backend port', () => {
  it('read as AAS: a request without backend', () => {
    const legacy = { server: 'asazure://westeurope.asazure.windows.net/srv', model: 'Sales', refresh: { type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [] } };
    expect(readRunRequest(legacy)).toMatchObject({ backend: 'aas', server: legacy.server, model: 'Sales' });
    expect(readTarget({ server: 'asazure://x.asazure.windows.net/srv', model: 'M' })).toEqual({ backend: 'aas', server: 'asazure://x.asazure.windows.net/srv', model: 'M' });
  });

  it('name nothing when they hold no target', () => {
    expect(readTarget({ model: 'M' })).toBeUndefined();
    expect(readTarget({ backend: 'sql', server: 's', model: 'm' })).toBeUndefined();
    expect(readRunRequest({ server: 's', model: 'm' })).toBeUndefined();
  });
});

describe('backend registry', () => {
  it('refuses a backend without an adapter with BACKEND_NOT_AVAILABLE, naming it', () => {
    const onlyAas = createBackendRegistry([registered(aasBackend)]);
    const error = (() => {
      try {
        onlyAas.forTarget({ backend: 'powerbi', workspace: 'Finance', semanticModel: 'Sales' });
      } catch (caught) {
        return caught as AppError;
      }
      throw new Error('expected a refusal');
    })();
    expect(error.code).toBe(ErrorCodes.BACKEND_NOT_AVAILABLE);
    expect(error.detail).toMatch(/Power BI targets are not available/);
  });

  it('refuses two adapters for one backend', () => {
    expect(() => createBackendRegistry([registered(aasBackend), registered(aasBackend)])).toThrow(/Two adapters/);
  });

  it('keys AAS models by server without :rw and case, and the model exactly', () => {
    const aas = backends.get('aas');
    const key = (server: string, model: string) => aas.modelKey({ backend: 'aas', server, model });
    expect(key('asazure://westeurope.asazure.windows.net/MyServer:rw', 'Sales')).toBe(key('asazure://WestEurope.asazure.windows.net/myserver', 'Sales'));
    expect(key('asazure://westeurope.asazure.windows.net/myserver', 'sales')).not.toBe(key('asazure://westeurope.asazure.windows.net/myserver', 'Sales'));
  });

  it('parses an AAS target before any token: a host off the allow-list is refused', () => {
    expect(() => backends.get('aas').parseTarget({ backend: 'aas', server: 'asazure://evil.example.com/srv', model: 'M' }, config)).toThrow(/AAS_ALLOWED_HOSTS/);
  });

  it('refuses the Power BI-only options for AAS, naming them', () => {
    const problems = backends.get('aas').refreshProblems({ type: 'full', commitMode: 'transactional', maxParallelism: 10, retryCount: 0, objects: [], applyRefreshPolicy: false, effectiveDate: '2025-01-01' });
    expect(problems).toEqual([expect.stringMatching(/^applyRefreshPolicy is a Power BI option/), expect.stringMatching(/^effectiveDate is a Power BI option/)]);
  });
});

describe('error kinds', () => {
  it.each([
    [ErrorCodes.AAS_CONFLICT, 'conflict'],
    [ErrorCodes.POWERBI_CONFLICT, 'conflict'],
    [ErrorCodes.AAS_THROTTLED, 'throttled'],
    [ErrorCodes.POWERBI_THROTTLED, 'throttled'],
    [ErrorCodes.AAS_TRANSIENT, 'transient'],
    [ErrorCodes.AAS_UNAUTHORIZED, 'unauthorized'],
    [ErrorCodes.POWERBI_UNAUTHORIZED, 'unauthorized'],
    [ErrorCodes.AAS_NOT_FOUND, 'notFound'],
    [ErrorCodes.AAS_SERVER_NOT_FOUND_OR_NOT_ADMIN, 'notFound'],
    [ErrorCodes.POWERBI_NOT_FOUND, 'notFound'],
    [ErrorCodes.AAS_BAD_REQUEST, 'rejected'],
    [ErrorCodes.POWERBI_BAD_REQUEST, 'rejected'],
  ])('%s is kind %s, also after crossing Durable (message only)', (code, kind) => {
    expect(kindOf(new AppError(code, 'x'))).toBe(kind);
    expect(kindOf(new Error(`Activity function 'submitRefresh' failed: [${code}] x`))).toBe(kind);
  });

  it('an error of this app (not a backend answer) has no kind', () => {
    expect(kindOf(new AppError(ErrorCodes.RUN_TIMED_OUT, 'x'))).toBeUndefined();
    expect(kindOf(new Error('boom'))).toBeUndefined();
  });
});
