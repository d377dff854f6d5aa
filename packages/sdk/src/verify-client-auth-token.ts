import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import {
  type ClientAuthTokenClaims,
  clientAuthTokenType,
  type IntrospectionResponse,
} from './contract/client-tokens.ts';
import { isPermission } from './contract/permissions.ts';
import { HandoffTokenError, type TokenRejection } from './errors.ts';
import { KeySetUnavailable, RemoteKeySet } from './remote-key-set.ts';

/** The algorithms Handoff signs with; nothing else is ever accepted (no `none`, no HS*). */
export const clientAuthTokenAlgorithms = ['ES256', 'EdDSA', 'RS256'] as const;
export type ClientAuthTokenAlgorithm = (typeof clientAuthTokenAlgorithms)[number];

/**
 * Asks whether a verified token has been revoked: a function answering `true` for revoked, or a client-token
 * client (`createClientTokenClient`), whose `introspect` is called (inactive = refused).
 */
export type RevocationCheck =
  | ((token: string, claims: ClientAuthTokenClaims) => boolean | Promise<boolean>)
  | { introspect(token: string): Promise<IntrospectionResponse> };

export interface VerifyClientAuthTokenOptions {
  /** Handoff's issuer (`HANDOFF_ISSUER`, by default its public URL). */
  issuer: string;
  /** `HANDOFF_AUDIENCE`, by default `handoff-sdk`. */
  audience: string;
  /** Handoff's `/.well-known/jwks.json`. */
  jwksUrl: string | URL;
  /** A subset of ES256, EdDSA, RS256: pin to what your Handoff signs with. Default: all three. */
  algorithms?: readonly ClientAuthTokenAlgorithm[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. Default 5. */
  clockTolerance?: number;
  /** Ask Handoff whether the token was revoked (a network round trip per verification). */
  checkRevocation?: RevocationCheck;
  /** Milliseconds since the epoch, for expiry and the JWKS cache. Default `Date.now`. */
  clock?: () => number;
  /** How long after a JWKS fetch an unknown `kid` waits before it may trigger another. Default 30 000 ms. */
  jwksCooldownMs?: number;
  /** JWKS fetch timeout. Default 5 000 ms. */
  jwksTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** One verifier's settings, checked once. */
interface Settings {
  issuer: string;
  audience: string;
  algorithms: ClientAuthTokenAlgorithm[];
  clockTolerance: number;
  checkRevocation: RevocationCheck | undefined;
  fetchOptions: { fetch: typeof fetch; clock: () => number; cooldownMs: number; timeoutMs: number };
}

function settingsOf(options: VerifyClientAuthTokenOptions): Settings {
  if (!options.issuer) throw new TypeError('issuer is required');
  if (!options.audience) throw new TypeError('audience is required');
  const algorithms = [...(options.algorithms ?? clientAuthTokenAlgorithms)];
  const unsupported = algorithms.filter((alg) => !(clientAuthTokenAlgorithms as readonly string[]).includes(alg));
  if (algorithms.length === 0 || unsupported.length > 0) {
    throw new TypeError(`algorithms must be a non-empty subset of ${clientAuthTokenAlgorithms.join(', ')}`);
  }
  const clockTolerance = options.clockTolerance ?? 5;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new TypeError('clockTolerance must be ≥ 0');
  return {
    issuer: options.issuer,
    audience: options.audience,
    algorithms,
    clockTolerance,
    checkRevocation: options.checkRevocation,
    fetchOptions: {
      fetch: options.fetch ?? globalThis.fetch,
      clock: options.clock ?? Date.now,
      cooldownMs: options.jwksCooldownMs ?? 30_000,
      timeoutMs: options.jwksTimeoutMs ?? 5_000,
    },
  };
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isOptionalString = (value: unknown) => value === undefined || typeof value === 'string';

/** The claims beyond the registered ones, as the contract shapes them; jose has checked iss/aud/exp/nbf. */
function checkShape(claims: Record<string, unknown>): claims is ClientAuthTokenClaims & Record<string, unknown> {
  return (
    isString(claims.jti) &&
    typeof claims.iat === 'number' &&
    isString(claims.platform_code) &&
    isOptionalString(claims.participant_code) &&
    isOptionalString(claims.email) &&
    isOptionalString(claims.phone_number) &&
    (claims.participant_code !== undefined || claims.email !== undefined) &&
    Array.isArray(claims.permissions) &&
    claims.permissions.length > 0 &&
    claims.permissions.every(isPermission) &&
    typeof claims.payload === 'object' &&
    claims.payload !== null &&
    !Array.isArray(claims.payload)
  );
}

function rejectionOf(error: unknown): [TokenRejection, string] {
  if (error instanceof HandoffTokenError) return [error.reason, error.message];
  if (error instanceof KeySetUnavailable) return ['unavailable', error.message];
  if (error instanceof errors.JWTExpired) return ['expired', 'token has expired'];
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return ['not_yet_valid', 'token is not yet valid'];
    if (error.claim === 'typ') return ['type', 'token is not a client access token'];
    return ['claims', `claim ${error.claim}: ${error.reason}`];
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return ['signature', 'signature verification failed'];
  if (error instanceof errors.JWKSNoMatchingKey) return ['unknown_key', 'no published key matches the token'];
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return ['algorithm', 'token algorithm is not allowed'];
  }
  return ['malformed', 'token is malformed'];
}

async function isRevoked(check: RevocationCheck, token: string, claims: ClientAuthTokenClaims): Promise<boolean> {
  try {
    if (typeof check === 'function') return await check(token, claims);
    const answer = await check.introspect(token);
    return !(answer.active && answer.jti === claims.jti);
  } catch (error) {
    throw new HandoffTokenError('unavailable', 'the revocation check failed; token refused', error);
  }
}

async function verifyWith(keySet: RemoteKeySet, settings: Settings, token: string): Promise<ClientAuthTokenClaims> {
  try {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) {
      throw new HandoffTokenError('malformed', 'token is malformed');
    }
    // Checked before any key is looked up, with reasons a caller can log.
    const header = decodeProtectedHeader(token);
    if (!(settings.algorithms as string[]).includes(String(header.alg))) {
      throw new HandoffTokenError('algorithm', `token algorithm ${String(header.alg)} is not allowed`);
    }
    if (header.typ !== clientAuthTokenType) throw new HandoffTokenError('type', 'token is not a client access token');
    if (typeof header.kid !== 'string') throw new HandoffTokenError('malformed', 'token has no kid');
    const { payload } = await jwtVerify(
      token,
      (protectedHeader, input) => keySet.getKey(protectedHeader, input, settings.fetchOptions),
      {
        algorithms: settings.algorithms,
        typ: clientAuthTokenType,
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: settings.clockTolerance,
        currentDate: new Date(settings.fetchOptions.clock()),
        requiredClaims: ['iss', 'aud', 'iat', 'nbf', 'exp', 'jti'],
      },
    );
    if (!checkShape(payload)) throw new HandoffTokenError('claims', 'token claims do not match the contract');
    if (settings.checkRevocation && (await isRevoked(settings.checkRevocation, token, payload))) {
      throw new HandoffTokenError('revoked', 'token has been revoked');
    }
    return payload;
  } catch (error) {
    if (error instanceof HandoffTokenError) throw error;
    const [reason, message] = rejectionOf(error);
    throw new HandoffTokenError(reason, message, error);
  }
}

/** Key sets shared by every `verifyClientAuthToken` call with the same JWKS URL, so keys are not refetched per token. */
const sharedKeySets = new Map<string, RemoteKeySet>();

/**
 * Verifies a client access token offline against Handoff's published keys: signature with a pinned algorithm,
 * `typ: client-auth+jwt`, issuer, audience, expiry and the claims' shape; optionally asks Handoff whether it
 * was revoked. Resolves with the typed claims; refuses with `HandoffTokenError` (see its `reason`).
 */
export function verifyClientAuthToken(
  token: string,
  options: VerifyClientAuthTokenOptions,
): Promise<ClientAuthTokenClaims> {
  const settings = settingsOf(options);
  const url = new URL(options.jwksUrl);
  let keySet = sharedKeySets.get(url.href);
  if (!keySet) {
    keySet = new RemoteKeySet(url);
    sharedKeySets.set(url.href, keySet);
  }
  return verifyWith(keySet, settings, token);
}

/** The same verification with options checked once and a key cache of its own. */
export function createClientAuthTokenVerifier(
  options: VerifyClientAuthTokenOptions,
): (token: string) => Promise<ClientAuthTokenClaims> {
  const settings = settingsOf(options);
  const keySet = new RemoteKeySet(new URL(options.jwksUrl));
  return (token) => verifyWith(keySet, settings, token);
}
