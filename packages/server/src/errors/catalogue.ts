/**
 * The one error catalogue. Every failure Handoff answers with is an entry here: a stable code, an HTTP status,
 * a message and a solution. Domain code throws `HandoffError(code)`; each surface has one renderer
 * (errors/render.ts) that turns it into that surface's wire shape.
 *
 * Codes ER700–ER999 and ER333–ER335 and their texts are fixed by the partner-API contract byte for byte.
 * The client-token surface answers `{"error": message}`; its entries are named for the rule that failed, and
 * those names double as the `reason` of audit events and metrics.
 */
export interface CatalogueEntry {
  readonly status: number;
  readonly message: string;
  readonly solution: string;
}

const entry = (status: number, message: string, solution: string): CatalogueEntry => ({ status, message, solution });

export const catalogue = {
  // Partner API: user authentication (contract table).
  ER700: entry(401, 'User authorization token not found.', 'Provide a user authorization token.'),
  ER701: entry(
    401,
    'User authorization token has expired.',
    'Request a new authorization token, or refresh the token.',
  ),
  ER702: entry(401, 'User authorization token is invalid.', 'Provide a valid user authorization token.'),
  ER703: entry(
    403,
    'User identifier does not belong to the user in the user authorization token.',
    'Provide a valid user identifier, or remove the user identifier header.',
  ),
  ER704: entry(
    400,
    'No user identifier found in headers.',
    'Provide a valid user identifier, or use the user/password authentication mechanism to request a user token and send that.',
  ),
  ER705: entry(
    404,
    'User identifier is not linked to a user.',
    'Provide a valid user identifier, link this user identifier to a user account, or use the user/password authentication mechanism.',
  ),
  ER706: entry(
    409,
    'User identifier is invalid.',
    'Provide a valid user identifier, a unique identifier string for the user account that is not already in use.',
  ),
  ER707: entry(
    400,
    'User identifier is invalid.',
    'Please provide an identifier, consisting of 36 - 255 characters, numeric or alphanumeric only.',
  ),
  ER708: entry(409, 'There is a pending document for this side.', 'Wait for the pending document to be reviewed.'),
  ER709: entry(404, 'User not found, or user has been deleted.', 'Provide a valid user identifier.'),
  // Partner API: partner authentication (contract table).
  ER800: entry(401, 'Authorization token is invalid.', 'Provide a valid authorization token.'),
  ER801: entry(401, 'Authorization token has expired.', 'Request a new authorization token.'),
  ER802: entry(401, 'Authorization token not found.', 'Provide an authorization token.'),
  ER803: entry(400, 'Multiple authorization methods used.', 'Use exactly one authorization method.'),
  ER805: entry(401, 'API key is invalid.', 'Provide a valid API key.'),
  ER806: entry(401, 'API key not found.', 'Provide an API key.'),
  // Partner API: login-token redemption (contract).
  ER333: entry(400, 'Login token not found.', 'Ask the platform for a new login link.'),
  ER334: entry(400, 'Login token has expired.', 'Ask the platform for a new login link.'),
  ER335: entry(400, 'Login token has no user attached.', 'Ask the platform for a new login link.'),
  // Partner API: codes of our own, same shape.
  ER810: entry(401, 'Username or password is incorrect.', 'Check the credentials, or ask your operator to reset them.'),
  ER811: entry(401, 'Refresh token is invalid or has been used.', 'Authenticate again to obtain a new token pair.'),
  ER812: entry(401, 'Refresh token has expired.', 'Authenticate again to obtain a new token pair.'),
  ER813: entry(403, 'Partner account is disabled.', 'Contact support to re-enable the partner account.'),
  ER820: entry(401, 'Email address or password is incorrect.', 'Check the credentials, or reset the password.'),
  ER821: entry(409, 'A user with this email address already exists.', 'Use another email address, or log the user in.'),
  ER822: entry(400, 'Return URL is not allowed.', "Use a returnUrl on one of the partner's registered origins."),
  ER900: entry(400, 'Request is invalid.', 'Fix the fields named in the message and send the request again.'),
  ER901: entry(429, 'Too many requests.', 'Wait for the number of seconds in the Retry-After header, then retry.'),
  ER902: entry(413, 'Request body is too large.', 'Send a smaller request body.'),
  ER903: entry(404, 'Resource not found.', 'Check the method and path against the API reference at /docs.'),
  ER904: entry(415, 'Unsupported content type.', 'Send the body as application/json.'),
  ER950: entry(503, 'Service temporarily unavailable.', 'Retry shortly; the service recovers by itself.'),
  ER999: entry(500, 'A general error has occurred. Please contact our support team.', 'Contact our support team.'),

  // Client-token surface (`{"error": message}`), named for the rule that failed.
  missing_header: entry(
    403,
    'missing header',
    'Send X-SCX-API-KEY, X-SCX-SIGNED, X-SCX-TIMESTAMP and X-SCX-PASSPHRASE.',
  ),
  malformed_timestamp: entry(403, 'X-SCX-TIMESTAMP must be Unix time in whole seconds', 'Send Unix seconds.'),
  timestamp_outside_window: entry(
    403,
    'X-SCX-TIMESTAMP is more than 60 seconds away from server time',
    'Sync the clock (NTP) and sign with the current time.',
  ),
  unknown_api_key: entry(403, 'unknown api key', 'Use an api key issued to your platform.'),
  credential_revoked: entry(403, 'api key has been revoked', 'Create a new credential.'),
  partner_disabled: entry(403, 'platform is disabled', 'Contact support.'),
  bad_passphrase: entry(403, 'invalid passphrase', 'Send the passphrase issued with this api key.'),
  bad_signature: entry(
    403,
    'invalid signature',
    'Sign timestamp + METHOD + path + raw body with HMAC-SHA256 under the base64-decoded secret.',
  ),
  replay: entry(403, 'request signature already used (replay)', 'Sign every request afresh.'),
  invalid_request: entry(400, 'request is invalid', 'Fix the fields named in the errors.'),
  participant_not_found: entry(404, 'participant not found', 'Use a participant code of your platform.'),
  merchant_not_found: entry(404, 'merchant participant not found', 'Use a merchant linked to your platform.'),
  token_not_found: entry(404, 'token not found', 'Send a token issued to your platform.'),
  reference_conflict: entry(
    409,
    'reference_id already used with different content',
    'Use a new reference_id for a different request.',
  ),
  not_allowed: entry(422, 'request not allowed', 'See the message.'),
  payload_too_large: entry(413, 'request body too large', 'Send a smaller body.'),
  unsupported_media_type: entry(415, 'request body must be application/json', 'Send JSON.'),
  rate_limited: entry(429, 'rate limit exceeded', 'Retry after the Retry-After header.'),
  not_found: entry(404, 'not found', 'Check the method and path.'),
  malformed_http: entry(400, 'malformed HTTP request', 'Send a well-formed HTTP/1.1 request.'),
  headers_too_large: entry(431, 'request headers too large', 'Send smaller headers.'),
  request_timeout: entry(408, 'request timed out', 'Send the whole request promptly.'),
  unavailable: entry(503, 'service unavailable', 'Retry shortly.'),
  internal: entry(500, 'internal error', 'Contact support with the request id.'),
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof catalogue;

/** A failure the caller can act on. Carries a catalogue code; `detail` refines the message where the contract allows. */
export class HandoffError extends Error {
  readonly code: ErrorCode;
  /** One line per problem for validation errors; otherwise an optional more specific message. */
  readonly details: readonly string[] | undefined;
  /** Seconds, for 429. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, options: { message?: string; details?: readonly string[]; retryAfter?: number } = {}) {
    super(options.message ?? catalogue[code].message);
    this.name = 'HandoffError';
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return catalogue[this.code].status;
  }
}

/** A dependency (database, Redis) could not answer; rendered as 503 on every surface. */
export class DependencyError extends Error {
  readonly dependency: 'database' | 'redis';
  constructor(dependency: 'database' | 'redis', cause: unknown) {
    super(`${dependency} unavailable`, { cause });
    this.name = 'DependencyError';
    this.dependency = dependency;
  }
}
