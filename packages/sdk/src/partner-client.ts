import { decodeJwt } from 'jose';
import type {
  ApiErrorEntry,
  CreateUserRequest,
  LoginTokenResponse,
  LoginWithTokenRequest,
  LoginWithTokenResponse,
  PrivatePage,
  RefreshRequest,
  RegisterIdentifierRequest,
  RegisterIdentifierResponse,
  SystemInfo,
  TokenPair,
  User,
  UserLoginRequest,
  UserLoginResponse,
} from './contract/partner-api.ts';
import { HandoffApiError, HandoffRequestError } from './errors.ts';
import {
  createTransport,
  type HttpAnswer,
  isObject,
  parseJson,
  retryAfterSeconds,
  type TransportOptions,
} from './http.ts';

/** Partner authentication: an API key (`X-Api-Key`), or username + password for a partner JWT kept fresh for you. */
export type PartnerCredentials = { apiKey: string } | { username: string; password: string };

export type PartnerClientOptions = TransportOptions &
  PartnerCredentials & {
    /** Renew the partner JWT this long before it expires. Default 60 s. */
    refreshBeforeExpirySeconds?: number;
    /** Milliseconds since the epoch; tests inject one. Default `Date.now`. */
    clock?: () => number;
  };

/** Which user a call is for: a user JWT (`User-Authorization`), a linked identifier (`User-Identifier`), or both. */
export type UserAuthentication =
  | { userToken: string; identifier?: string }
  | { identifier: string; userToken?: string };

export interface PartnerClient {
  /** `POST /api/v1/user` → the new user (status `submitted`). */
  createUser(body: CreateUserRequest): Promise<User>;
  /** `POST /api/v1/user/login` → a user JWT pair, and the user's identifier when one is linked. */
  userLogin(body: UserLoginRequest): Promise<UserLoginResponse>;
  /** `POST /api/v1/user/refresh`: spends the refresh token; keep the new pair (a spent one revokes its family). */
  userRefresh(body: RefreshRequest): Promise<TokenPair>;
  /** `POST /api/v1/user/logout`: revokes the user token and its refresh tokens. */
  userLogout(user: { userToken: string }): Promise<void>;
  /** `POST /api/v1/user/register-identifier` → the hosted page where the user confirms the link. */
  registerIdentifier(body: RegisterIdentifierRequest): Promise<RegisterIdentifierResponse>;
  /** `GET /api/v1/user/login-token` → a one-time login token for the hosted private pages. */
  getLoginToken(user: UserAuthentication): Promise<LoginTokenResponse>;
  /** `POST /api/v2/user/login-with-token`: spends a login token for a user JWT pair. */
  loginWithToken(body: LoginWithTokenRequest): Promise<LoginWithTokenResponse>;
  /** `GET /api/v1/system/info` → Handoff's URLs, including the private pages. */
  systemInfo(): Promise<SystemInfo>;
}

/** The private page URL to send a user to with a login token: `<page>?token=…&uuid=…`. */
export function privatePageUrl(info: SystemInfo, page: PrivatePage, login: { uuid: string; token: string }): string {
  const url = new URL(info.privateUrls[page]);
  url.searchParams.set('token', login.token);
  url.searchParams.set('uuid', login.uuid);
  return url.toString();
}

/** `{"errors": {"ER…": {code, message, solution}}}` as a HandoffApiError; anything else is not Handoff's answer. */
function toApiError(answer: HttpAnswer): HandoffApiError | HandoffRequestError {
  const body = parseJson(answer);
  const entries = isObject(body) && isObject(body.errors) ? Object.values(body.errors) : [];
  const first = entries[0];
  if (
    answer.status < 400 ||
    !isObject(first) ||
    typeof first.code !== 'string' ||
    !/^ER\d{3}$/.test(first.code) ||
    typeof first.message !== 'string' ||
    typeof first.solution !== 'string'
  ) {
    return new HandoffRequestError('unexpected_response', `unexpected answer ${answer.status} (not from Handoff?)`, {
      status: answer.status,
    });
  }
  return new HandoffApiError(
    answer.status,
    first as unknown as ApiErrorEntry,
    (body as { errors: Record<string, ApiErrorEntry> }).errors,
    answer.headers.get('x-request-id') ?? undefined,
    retryAfterSeconds(answer.headers),
  );
}

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Whether a timeout or network failure may be retried (the request is safe to repeat). */
  retry: boolean;
}

/** Sends one partner-API request; resolves with the JSON answer of a 2xx (undefined for 204), throws otherwise. */
type Call = (method: 'GET' | 'POST', path: string, options: CallOptions) => Promise<unknown>;

/**
 * Keeps a partner JWT fresh: authenticates on first use, refreshes shortly before expiry (keeping the rotated
 * refresh token), and authenticates again when the refresh token is refused. Renewals are single-flight:
 * refresh tokens are one-time, and two concurrent refreshes with one token would revoke its whole family.
 */
class PartnerSession {
  #pair: { token: string; refreshToken: string; expiresAtMs: number } | undefined;
  #renewing: Promise<string> | undefined;

  constructor(
    private readonly credentials: { username: string; password: string },
    private readonly call: Call,
    private readonly clock: () => number,
    private readonly renewBeforeMs: number,
  ) {}

  /** A partner JWT that is not about to expire. */
  async token(): Promise<string> {
    if (this.#pair && this.clock() < this.#pair.expiresAtMs - this.renewBeforeMs) return this.#pair.token;
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /** The server refused `token` (expired by its clock, or invalid): the next call renews it. */
  discard(token: string): void {
    if (this.#pair?.token === token) this.#pair = { ...this.#pair, expiresAtMs: 0 };
  }

  async #renew(): Promise<string> {
    if (this.#pair) {
      const { refreshToken } = this.#pair;
      try {
        // Not retried on a lost answer: the server may have spent the token, and a resend would look like theft.
        return this.#keep(await this.call('POST', '/api/v1/refresh', { body: { refreshToken }, retry: false }));
      } catch (error) {
        // Spent, expired or revoked (e.g. with its family): start over with the password.
        if (!(error instanceof HandoffApiError && (error.code === 'ER811' || error.code === 'ER812'))) throw error;
        this.#pair = undefined;
      }
    }
    // A lost answer to /authenticate costs nothing but an unused pair, so it may be retried.
    return this.#keep(await this.call('POST', '/api/v1/authenticate', { body: this.credentials, retry: true }));
  }

  #keep(answer: unknown): string {
    const pair = answer as TokenPair;
    let exp: number | undefined;
    try {
      exp = decodeJwt(pair.token).exp;
    } catch {
      exp = undefined;
    }
    if (typeof exp !== 'number' || typeof pair.refreshToken !== 'string') {
      throw new HandoffRequestError('unexpected_response', 'unexpected token pair', {});
    }
    this.#pair = { token: pair.token, refreshToken: pair.refreshToken, expiresAtMs: exp * 1000 };
    return pair.token;
  }
}

function userHeaders(user: UserAuthentication): Record<string, string> {
  const headers: Record<string, string> = {};
  if (user.userToken !== undefined) headers['user-authorization'] = `Bearer ${user.userToken}`;
  if (user.identifier !== undefined) headers['user-identifier'] = user.identifier;
  return headers;
}

/**
 * A client of the partner API (`/api/...`) for a partner platform's backend. With username and password it
 * obtains and renews the partner JWT itself; with an API key it sends `X-Api-Key`. Errors are `HandoffApiError`
 * with the catalogue code.
 */
export function createPartnerClient(options: PartnerClientOptions): PartnerClient {
  const transport = createTransport(options);
  const clock = options.clock ?? Date.now;
  const renewBefore = options.refreshBeforeExpirySeconds ?? 60;
  if (!Number.isFinite(renewBefore) || renewBefore < 0) throw new TypeError('refreshBeforeExpirySeconds must be ≥ 0');

  const send: Call = async (method, path, call) => {
    const url = transport.url(path);
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers = {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...call.headers,
    };
    const answer = await transport.send(
      method,
      url,
      async () => ({ headers, ...(body === undefined ? {} : { body }) }),
      call.retry,
    );
    if (answer.status < 200 || answer.status >= 300) throw toApiError(answer);
    if (answer.status === 204) return undefined;
    const value = parseJson(answer);
    if (!isObject(value)) {
      throw new HandoffRequestError('unexpected_response', `unexpected answer ${answer.status}`, {
        status: answer.status,
      });
    }
    return value;
  };

  let session: PartnerSession | undefined;
  let apiKey: string | undefined;
  if ('apiKey' in options && options.apiKey !== undefined) {
    if (options.apiKey === '') throw new TypeError('apiKey must not be empty');
    apiKey = options.apiKey;
  } else if ('username' in options && options.username && options.password) {
    session = new PartnerSession(
      { username: options.username, password: options.password },
      send,
      clock,
      renewBefore * 1000,
    );
  } else {
    throw new TypeError('pass either apiKey, or username and password');
  }

  /** A partner-authenticated call; a bearer the server refuses is renewed once and the call repeated. */
  async function call<T>(method: 'GET' | 'POST', path: string, options: CallOptions): Promise<T> {
    if (apiKey !== undefined) {
      return (await send(method, path, {
        ...options,
        headers: { ...options.headers, 'x-api-key': apiKey },
      })) as T;
    }
    const active = session as PartnerSession;
    const token = await active.token();
    const withBearer = (bearer: string) => ({
      ...options,
      headers: { ...options.headers, authorization: `Bearer ${bearer}` },
    });
    try {
      return (await send(method, path, withBearer(token))) as T;
    } catch (error) {
      // Refused at partner authentication, so the request itself was not processed: safe to repeat once.
      if (!(error instanceof HandoffApiError && (error.code === 'ER800' || error.code === 'ER801'))) throw error;
      active.discard(token);
      return (await send(method, path, withBearer(await active.token()))) as T;
    }
  }

  return {
    createUser: (body) => call('POST', '/api/v1/user', { body, retry: false }),
    userLogin: (body) => call('POST', '/api/v1/user/login', { body, retry: false }),
    userRefresh: (body) => call('POST', '/api/v1/user/refresh', { body, retry: false }),
    async userLogout(user) {
      await call('POST', '/api/v1/user/logout', { headers: userHeaders(user), retry: false });
    },
    registerIdentifier: (body) => call('POST', '/api/v1/user/register-identifier', { body, retry: false }),
    getLoginToken: (user) => call('GET', '/api/v1/user/login-token', { headers: userHeaders(user), retry: true }),
    loginWithToken: (body) => call('POST', '/api/v2/user/login-with-token', { body, retry: false }),
    systemInfo: () => call('GET', '/api/v1/system/info', { retry: true }),
  };
}
