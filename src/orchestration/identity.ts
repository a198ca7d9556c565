import { kindOfCode } from '../errors';

/** This app's identity chain failed (not the service refusing the request): AUTH_* codes and a service rejecting the token. */
export function isIdentityProblem(code: string): boolean {
  return code.startsWith('AUTH_') || kindOfCode(code) === 'unauthorized';
}
