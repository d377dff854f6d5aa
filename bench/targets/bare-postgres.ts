import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';

/**
 * The database ceiling for login tokens: node:http doing exactly one PostgreSQL statement per request on Handoff's
 * own `login_tokens` table, with the same pool size as Handoff. `GET /insert` stores a new token (one INSERT);
 * `POST /update` `{"uuid","token"}` spends one (the same conditional UPDATE as Handoff's).
 */
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.BENCH_POOL_SIZE ?? 10),
});
const partnerId = process.env.BENCH_PARTNER_ID as string;
const participantId = process.env.BENCH_PARTICIPANT_ID as string;

const send = (response: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
};

async function insert(response: ServerResponse) {
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  const expiresAt = new Date((Math.floor(now.getTime() / 1000) + 300) * 1000);
  await pool.query(
    'insert into "login_tokens" ("token_hash", "partner_id", "participant_id", "created_at", "expires_at") values ($1, $2, $3, $4, $5)',
    [createHash('sha256').update(token).digest('hex'), partnerId, participantId, now, expiresAt],
  );
  send(response, 200, { uuid: participantId, token, expiryDate: `${expiresAt.toISOString().slice(0, 19)}Z` });
}

async function update(request: IncomingMessage, response: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString()) as { uuid: string; token: string };
  const now = new Date();
  const { rows } = await pool.query(
    'update "login_tokens" as "t" set "used_at" = $1 from "participants" as "p" where "p"."id" = "t"."participant_id" and "p"."deleted_at" is null and "t"."token_hash" = $2 and "t"."participant_id" = $3 and "t"."used_at" is null and "t"."expires_at" > $4 and "t"."partner_id" = $5 returning "t"."participant_id", "t"."partner_id"',
    [now, createHash('sha256').update(body.token).digest('hex'), body.uuid, now, partnerId],
  );
  if (rows.length === 1) send(response, 200, { uuid: body.uuid });
  else send(response, 400, { errors: { ER333: { code: 'ER333' } } });
}

const server = createServer((request, response) => {
  const work =
    request.method === 'GET' && request.url === '/insert'
      ? insert(response)
      : request.method === 'POST' && request.url === '/update'
        ? update(request, response)
        : Promise.resolve(send(response, 404, {}));
  work.catch((error: unknown) => send(response, 500, { error: String(error) }));
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => void pool.end().finally(() => process.exit(0)));
