import { AppError, codeOf, detailOf, ErrorCodes } from '../src/errors';

describe('error codes', () => {
  it.each([
    [new AppError(ErrorCodes.AAS_CONFLICT, 'busy'), 'AAS_CONFLICT', 'busy'],
    [new Error('[AAS_NOT_ADMIN] not an admin'), 'AAS_NOT_ADMIN', 'not an admin'],
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
