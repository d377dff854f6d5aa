import type { ApiErrorEntry, PartnerApiErrorCode } from './contract/partner-api.ts';

/**
 * The SDK's closed set of errors. Catch `HandoffSdkError` for all of them, or one class for one kind of failure:
 * - `HandoffClientError`: the client-token surface answered with an error (status + the server's messages);
 * - `HandoffApiError`: the partner API answered with a catalogue error (`code` = ER…);
 * - `HandoffRequestError`: no usable answer (timeout, network failure, or a response that is not Handoff's);
 * - `HandoffTokenError`: `verifyClientAuthToken` refused a token.
 */
export abstract class HandoffSdkError extends Error {}

/** An error answer of `/client_auth_token`, `/revoke_auth_token` or `/introspect`. */
export class HandoffClientError extends HandoffSdkError {
  override readonly name = 'HandoffClientError';
  readonly status: number;
  /** The server's messages: `[error]` for `{"error"}`, the list for `{"errors": [...]}` (one per invalid field). */
  readonly messages: readonly string[];
  /** `X-Request-Id` of the failed request, for support. */
  readonly requestId: string | undefined;
  /** Seconds to wait, from `Retry-After` (429). */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, messages: readonly string[], requestId?: string, retryAfterSeconds?: number) {
    super(`Handoff answered ${status}: ${messages.join('; ')}`);
    this.status = status;
    this.messages = messages;
    this.requestId = requestId;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A catalogue error of the partner API; `code` is the catalogue code (`ER802`, `ER333`, …). */
export class HandoffApiError extends HandoffSdkError {
  override readonly name = 'HandoffApiError';
  /** A catalogue code; typed with the codes this SDK knows, and still set for any newer code a server adds. */
  readonly code: PartnerApiErrorCode | (string & {});
  readonly status: number;
  readonly solution: string;
  /** Every entry of the answer (usually one), keyed by code. */
  readonly errors: Readonly<Record<string, ApiErrorEntry>>;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    first: ApiErrorEntry,
    errors: Record<string, ApiErrorEntry>,
    requestId?: string,
    retryAfterSeconds?: number,
  ) {
    super(first.message);
    this.code = first.code;
    this.status = status;
    this.solution = first.solution;
    this.errors = errors;
    this.requestId = first.requestId ?? requestId;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export type RequestFailure = 'timeout' | 'network' | 'unexpected_response';

/** No usable answer from Handoff, after the retries the request allowed. */
export class HandoffRequestError extends HandoffSdkError {
  override readonly name = 'HandoffRequestError';
  readonly reason: RequestFailure;
  /** The HTTP status, for `unexpected_response`. */
  readonly status: number | undefined;
  /** How many attempts were made, for `timeout` and `network`. */
  readonly attempts: number | undefined;

  constructor(
    reason: RequestFailure,
    message: string,
    options: { status?: number; attempts?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.reason = reason;
    this.status = options.status;
    this.attempts = options.attempts;
  }
}

export type TokenRejection =
  /** Not a compact JWS, bad base64/JSON, or a header/claim of the wrong shape. */
  | 'malformed'
  /** `alg` outside the pinned list (never `none` or HS*). */
  | 'algorithm'
  /** `typ` is not `client-auth+jwt`: another kind of Handoff token, or not Handoff's. */
  | 'type'
  /** No published key with this `kid` (after a refetch of the JWKS, within the cooldown). */
  | 'unknown_key'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  /** Wrong `iss` or `aud`, or a required claim missing. */
  | 'claims'
  /** The revocation check says the token was revoked (or is not active for this platform). */
  | 'revoked'
  /** The JWKS or the revocation check could not be reached; the token is refused (fail closed). */
  | 'unavailable';

/** `verifyClientAuthToken` refused the token. */
export class HandoffTokenError extends HandoffSdkError {
  override readonly name = 'HandoffTokenError';
  readonly reason: TokenRejection;

  constructor(reason: TokenRejection, message: string, cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.reason = reason;
  }
}
