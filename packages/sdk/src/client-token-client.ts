import type {
  ClientAuthTokenRequest,
  ClientAuthTokenResponse,
  IntrospectionResponse,
} from './contract/client-tokens.ts';
import { HandoffClientError, HandoffRequestError } from './errors.ts';
import {
  createTransport,
  type HttpAnswer,
  isObject,
  parseJson,
  retryAfterSeconds,
  type TransportOptions,
} from './http.ts';
import { RequestSigner } from './request-signer.ts';

export interface ClientTokenClientOptions extends TransportOptions {
  /** The credential's public api key (`X-SCX-API-KEY`). */
  apiKey: string;
  /** The credential's secret, base64, as issued. */
  secret: string;
  passphrase: string;
  /** Milliseconds since the epoch, for signature timestamps; it must move on. Default `Date.now`. */
  clock?: () => number;
}

export interface ClientTokenClient {
  /** `POST /client_auth_token` → `{ token, deposit_intent_id?, payment_id? }` (the `message` of the answer). */
  createClientAuthToken(body: ClientAuthTokenRequest): Promise<ClientAuthTokenResponse['message']>;
  /** `POST /revoke_auth_token`. Revoking twice is fine. */
  revokeAuthToken(token: string): Promise<void>;
  /** `POST /introspect` (RFC 7662 shape): `{ active: false }`, or `{ active: true, ...claims }`. */
  introspect(token: string): Promise<IntrospectionResponse>;
}

/** The error shapes of the surface: `{"error": "…"}`, `{"errors": ["…", …]}`, `{"error": "internal error", "request_id"}`. */
function toClientError(answer: HttpAnswer): HandoffClientError | HandoffRequestError {
  const body = parseJson(answer);
  const requestId = answer.headers.get('x-request-id') ?? undefined;
  let messages: string[] | undefined;
  if (isObject(body) && typeof body.error === 'string') messages = [body.error];
  else if (isObject(body) && Array.isArray(body.errors) && body.errors.every((e) => typeof e === 'string')) {
    messages = body.errors as string[];
  }
  if (!messages || answer.status < 400) {
    return new HandoffRequestError('unexpected_response', `unexpected answer ${answer.status} (not from Handoff?)`, {
      status: answer.status,
    });
  }
  return new HandoffClientError(answer.status, messages, requestId, retryAfterSeconds(answer.headers));
}

/**
 * A client of the HMAC-signed client-token surface, for a partner platform's backend. Every attempt is signed
 * afresh (new timestamp, the exact body string that is sent); a retry never resends a signature.
 */
export function createClientTokenClient(options: ClientTokenClientOptions): ClientTokenClient {
  for (const name of ['apiKey', 'secret', 'passphrase'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`${name} is required`);
  }
  const transport = createTransport(options);
  const signer = new RequestSigner(options.secret, options.apiKey, options.passphrase, options.clock ?? Date.now);

  async function post(path: string, payload: unknown): Promise<HttpAnswer> {
    const url = transport.url(path);
    // Serialised once: the bytes signed are the bytes sent.
    const body = JSON.stringify(payload);
    const answer = await transport.send(
      'POST',
      url,
      async () => ({
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(await signer.headers('POST', url.pathname + url.search, body)),
        },
        body,
      }),
      true,
    );
    if (answer.status >= 300) throw toClientError(answer);
    return answer;
  }

  function json(answer: HttpAnswer, check: (value: Record<string, unknown>) => boolean): Record<string, unknown> {
    const value = parseJson(answer);
    if (!isObject(value) || !check(value)) {
      throw new HandoffRequestError('unexpected_response', `unexpected answer ${answer.status}`, {
        status: answer.status,
      });
    }
    return value;
  }

  return {
    async createClientAuthToken(body) {
      const answer = await post('/client_auth_token', body);
      const value = json(answer, (v) => isObject(v.message) && typeof v.message.token === 'string');
      return value.message as ClientAuthTokenResponse['message'];
    },
    async revokeAuthToken(token) {
      await post('/revoke_auth_token', { token });
    },
    async introspect(token) {
      const answer = await post('/introspect', { token });
      return json(answer, (v) => typeof v.active === 'boolean') as IntrospectionResponse;
    },
  };
}
