import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import type { RequestSpec } from './requests.ts';

/**
 * Before a target is timed, a few of the very requests it will be loaded with are sent once and their answers
 * checked, so the bench never times a server that answers fast but wrong.
 */
export async function send(origin: string, request: RequestSpec) {
  const response = await fetch(`${origin}${request.path}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json: json as Record<string, unknown> | undefined, text };
}

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`answer check failed: ${message}`);
}

async function jwks(url: string) {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  expect(response.ok, `${url} answered ${response.status}`);
  return createLocalJWKSet((await response.json()) as JSONWebKeySet);
}

/** A Handoff client access token answer: 201, an ES256 JWT of type client-auth+jwt for this participant. */
export async function checkClientAuthToken(
  origin: string,
  request: RequestSpec,
  expected: { platformCode: string; participantCode: string; permissions: readonly string[] },
): Promise<void> {
  const answer = await send(origin, request);
  expect(answer.status === 201, `POST /client_auth_token answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  const token = (answer.json?.message as { token?: unknown } | undefined)?.token;
  expect(typeof token === 'string', 'no message.token in the answer');
  const { payload, protectedHeader } = await jwtVerify(token, await jwks(`${origin}/.well-known/jwks.json`), {
    issuer: origin,
    audience: 'handoff-sdk',
    typ: 'client-auth+jwt',
    algorithms: ['ES256'],
  });
  expect(protectedHeader.alg === 'ES256', `alg ${protectedHeader.alg}`);
  expect(payload.platform_code === expected.platformCode, 'platform_code differs');
  expect(payload.participant_code === expected.participantCode, 'participant_code differs');
  expect(JSON.stringify(payload.permissions) === JSON.stringify(expected.permissions), 'permissions differ');
  // The same request again must be refused as a replay: that is why every timed request is distinct.
  const replay = await send(origin, request);
  expect(replay.status === 403 && /replay/i.test(replay.text), `a replay answered ${replay.status}: ${replay.text}`);
}

/** node-oidc-provider's answer: 200, a Bearer ES256 JWT access token (typ at+jwt) for the resource. */
export async function checkOidcToken(origin: string, request: RequestSpec, resource: string): Promise<void> {
  const answer = await send(origin, request);
  expect(answer.status === 200, `POST /token answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  expect(answer.json?.token_type === 'Bearer', 'token_type is not Bearer');
  const token = answer.json?.access_token;
  expect(typeof token === 'string', 'no access_token');
  await jwtVerify(token, await jwks(`${origin}/jwks`), {
    issuer: origin,
    audience: resource,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
}

/** `GET /api/v1/user/login-token`: 200 {uuid, token, expiryDate} for this user. */
export async function checkLoginToken(origin: string, request: RequestSpec, uuid: string): Promise<string> {
  const answer = await send(origin, request);
  expect(answer.status === 200, `GET ${request.path} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  expect(answer.json?.uuid === uuid, 'uuid differs');
  expect(typeof answer.json?.token === 'string' && /^[A-Za-z0-9_-]{22,}$/.test(answer.json.token), 'token shape');
  expect(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(String(answer.json?.expiryDate)), 'expiryDate shape');
  return answer.json.token as string;
}

/** `POST /api/v2/user/login-with-token`: 200 with a user JWT pair; the same token a second time is ER333. */
export async function checkLoginWithToken(origin: string, request: RequestSpec, uuid: string): Promise<void> {
  const answer = await send(origin, request);
  expect(answer.status === 200, `POST ${request.path} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  expect(answer.json?.uuid === uuid, 'uuid differs');
  expect(typeof answer.json?.refreshToken === 'string', 'no refreshToken');
  const token = answer.json?.token;
  expect(typeof token === 'string', 'no token');
  const { payload } = await jwtVerify(token, await jwks(`${origin}/.well-known/jwks.json`), {
    issuer: origin,
    typ: 'user+jwt',
    algorithms: ['ES256'],
  });
  expect(payload.sub === uuid, 'sub differs');
  const again = await send(origin, request);
  expect(again.status === 400 && again.text.includes('ER333'), `a second redemption answered ${again.status}`);
}
