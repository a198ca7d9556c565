import { createPublicKey, generateKeyPairSync, KeyObject, randomUUID, sign, verify } from 'node:crypto';
import type { Clock } from '../clock';

/** The claims the emulators put in and read from access tokens. */
export interface TokenClaims {
  aud: string;
  tid: string;
  appid: string;
  /** Issued at / not before / expires, Unix seconds. */
  iat: number;
  nbf: number;
  exp: number;
  iss: string;
  oid?: string;
  sub?: string;
  jti?: string;
  [extra: string]: unknown;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: string };

/**
 * Signs and verifies RS256 JWTs. The identity emulator issues tokens with it; the AAS emulator
 * verifies them with the same instance, so it accepts only tokens the identity emulator issued.
 */
export class TokenIssuer {
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId = randomUUID();

  constructor(private readonly clock: Clock) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = createPublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' }));
  }

  issue(claims: Omit<TokenClaims, 'iat' | 'nbf' | 'exp'> & { lifetimeSeconds?: number }): { token: string; expiresOn: number } {
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const { lifetimeSeconds = 3599, ...rest } = claims;
    const body = { ...rest, iat: nowSeconds, nbf: nowSeconds - 300, exp: nowSeconds + lifetimeSeconds, jti: randomUUID() } as TokenClaims;
    const header = { alg: 'RS256', typ: 'JWT', kid: this.keyId };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(body))}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.privateKey).toString('base64url');
    return { token: `${signingInput}.${signature}`, expiresOn: body.exp };
  }

  /** Checks signature, expiry (against the shared clock) and, if given, the audience. */
  verify(token: string, expectedAudience?: string): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
    const [headerPart, bodyPart, signaturePart] = parts as [string, string, string];
    const valid = verify('sha256', Buffer.from(`${headerPart}.${bodyPart}`), this.publicKey, Buffer.from(signaturePart, 'base64url'));
    if (!valid) return { ok: false, reason: 'signature not valid (token not issued by this identity emulator)' };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(bodyPart, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return { ok: false, reason: 'malformed token body' };
    }
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    if (claims.exp <= nowSeconds) return { ok: false, reason: 'token expired' };
    if (expectedAudience !== undefined && claims.aud !== expectedAudience) {
      return { ok: false, reason: `audience "${claims.aud}" is not "${expectedAudience}"` };
    }
    return { ok: true, claims };
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
