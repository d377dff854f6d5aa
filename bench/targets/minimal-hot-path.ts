import { createHmac, generateKeyPairSync, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';

/**
 * The issue's own prototype, "the same with a Redis SET NX EX replay check": node:http, the HMAC contract checked
 * (headers, 60 s window, API key and passphrase, HMAC-SHA256 in constant time), the body's JSON checked, a
 * `SET NX EX` in Redis against replays, and an ES256 JWT signed on libuv's thread pool. No store, no audit, no
 * rate limits, no participant lookup, no logs or metrics: what any implementation of the contract must do at
 * least, measured on this machine next to Handoff and the peer.
 */
const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const apiKey = Buffer.from(env('BENCH_API_KEY'));
const passphrase = Buffer.from(env('BENCH_PASSPHRASE'));
const secret = Buffer.from(env('BENCH_SECRET'), 'base64');
const platformCode = env('BENCH_PLATFORM_CODE');
const prefix = env('BENCH_REDIS_PREFIX');
const redis = new Redis(env('BENCH_REDIS_URL'));

const { privateKey: key, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kid = 'minimal-es256';
const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] });
const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid, typ: 'client-auth+jwt' })).toString('base64url');

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

function answer(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function refuse(response: ServerResponse, status: number, error: string): void {
  answer(response, status, JSON.stringify({ error }));
}

function single(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

async function clientAuthToken(request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<void> {
  const givenKey = single(request, 'x-scx-api-key');
  const signed = single(request, 'x-scx-signed');
  const timestamp = single(request, 'x-scx-timestamp');
  const givenPassphrase = single(request, 'x-scx-passphrase');
  if (!givenKey || !signed || !timestamp || !givenPassphrase) return refuse(response, 401, 'missing header');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 60)
    return refuse(response, 401, 'timestamp outside the window');
  if (!sameBytes(Buffer.from(givenKey), apiKey) || !sameBytes(Buffer.from(givenPassphrase), passphrase))
    return refuse(response, 401, 'unknown credential');
  const provided = Buffer.from(signed, 'base64');
  const expected = createHmac('sha256', secret)
    .update(`${timestamp}POST${request.url}`)
    .update(body.length > 0 ? body : '{}')
    .digest();
  if (!sameBytes(provided, expected)) return refuse(response, 401, 'bad signature');

  let fields: { participant_code?: unknown; permissions?: unknown };
  try {
    fields = JSON.parse(body.toString());
  } catch {
    return refuse(response, 400, 'malformed JSON');
  }
  const { participant_code: participant, permissions } = fields;
  if (
    typeof participant !== 'string' ||
    !Array.isArray(permissions) ||
    !permissions.every((p) => typeof p === 'string')
  )
    return refuse(response, 400, 'invalid body');

  const fresh = await redis.set(`${prefix}${provided.toString('base64')}`, '1', 'EX', 121, 'NX');
  if (fresh !== 'OK') return refuse(response, 403, 'replay');

  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    aud: 'handoff-sdk',
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    platform_code: platformCode,
    participant_code: participant,
    permissions,
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = await new Promise<Buffer>((resolve, reject) =>
    sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, (error, bytes) =>
      error ? reject(error) : resolve(bytes),
    ),
  );
  answer(response, 201, JSON.stringify({ message: { token: `${input}.${signature.toString('base64url')}` } }));
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.method === 'GET' && request.url === '/.well-known/jwks.json') return answer(response, 200, jwks);
    if (request.method !== 'POST' || request.url !== '/client_auth_token') return refuse(response, 404, 'not found');
    clientAuthToken(request, Buffer.concat(chunks), response).catch(() => refuse(response, 503, 'unavailable'));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
