import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { randomToken, sha256Hex } from '../crypto/random.ts';
import { findParticipantByUuid, type Participant } from '../store/participants.ts';
import { findPartnerById, type Partner } from '../store/partners.ts';
import {
  deletePageSession,
  insertPageSession,
  type PageSession,
  type SessionAuthMethod,
  touchPageSession,
} from '../store/sessions.ts';
import { readCookie, serializeCookie } from './cookies.ts';

/**
 * Sessions of the hosted pages: a random 256-bit id in an HttpOnly cookie, stored only as its SHA-256 hash in
 * the database (so every instance sees the same sessions), ending after `HANDOFF_PAGE_SESSION_IDLE_MINUTES` idle
 * minutes (30) or `HANDOFF_PAGE_SESSION_MAX_HOURS` (12) at most. A pre-session cookie (never stored) is what CSRF
 * tokens of forms shown before sign-in are bound to.
 */
export const sessionLifetime = (
  config: Pick<AppContext['config'], 'pageSessionIdleMinutes' | 'pageSessionMaxHours'>,
) => ({
  idleSeconds: config.pageSessionIdleMinutes * 60,
  absoluteSeconds: config.pageSessionMaxHours * 3600,
});

const sessionCookie = 'handoff_session';
const preSessionCookie = 'handoff_pre';
/** 32 random bytes in base64url: anything else in the cookie was not set by us. */
const wellFormedSecret = /^[A-Za-z0-9_-]{43}$/;

export interface SignedIn {
  /** The cookie value: what signed-in forms' CSRF tokens are bound to. */
  secret: string;
  session: PageSession;
  participant: Participant;
  partner: Partner;
}

/** `none`: no session cookie at all; `ended`: there was a session, and it expired or was closed. */
export type SessionState = ({ state: 'active' } & SignedIn) | { state: 'none' } | { state: 'ended' };

const isSecure = (ctx: AppContext) => new URL(ctx.config.publicUrl).protocol === 'https:';

function readSecret(request: FastifyRequest, name: string): string | undefined {
  const value = readCookie(request, name);
  return value && wellFormedSecret.test(value) ? value : undefined;
}

export const readPreSession = (request: FastifyRequest) => readSecret(request, preSessionCookie);

/** The browser's pre-session secret, created (and set on the reply) when it has none yet. */
export function ensurePreSession(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): string {
  const existing = readPreSession(request);
  if (existing) return existing;
  const secret = randomToken(32);
  reply.header('set-cookie', serializeCookie(preSessionCookie, secret, { secure: isSecure(ctx) }));
  return secret;
}

// One lookup per request however many times a handler asks (the touch is a write).
const perRequest = new WeakMap<FastifyRequest, Promise<SessionState>>();

/** The signed-in user of this request, extending the session's idle expiry; clears the cookie of an ended one. */
export function readSession(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<SessionState> {
  let state = perRequest.get(request);
  if (!state) {
    state = lookUpSession(ctx, request, reply);
    perRequest.set(request, state);
  }
  return state;
}

async function lookUpSession(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<SessionState> {
  const present = readCookie(request, sessionCookie) !== undefined;
  const secret = readSecret(request, sessionCookie);
  if (!secret) {
    if (present) clearSessionCookie(ctx, reply);
    return { state: present ? 'ended' : 'none' };
  }
  const nowMs = ctx.clock();
  const idHash = sha256Hex(secret);
  const session = await touchPageSession(ctx.db, {
    idHash,
    now: new Date(nowMs),
    idleExpiresAt: new Date(nowMs + sessionLifetime(ctx.config).idleSeconds * 1000),
  });
  if (session) {
    const [participant, partner] = await Promise.all([
      findParticipantByUuid(ctx.db, session.partnerId, session.participantId),
      findPartnerById(ctx.db, session.partnerId),
    ]);
    if (participant && !participant.deleted && partner?.status === 'active') {
      return { state: 'active', secret, session, participant, partner };
    }
  }
  // Expired, signed out elsewhere, user deleted or partner disabled: the row goes, and so does the cookie.
  await deletePageSession(ctx.db, idHash);
  clearSessionCookie(ctx, reply);
  return { state: 'ended' };
}

/**
 * Signs the browser in with a fresh session id, whatever it held before (no session fixation): the previous
 * session, if any, ends. Expired sessions are left to `handoff prune`; no request can use them.
 */
export async function startSession(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  input: { partnerId: string; participantId: string; authMethod: SessionAuthMethod },
): Promise<void> {
  const previous = readSecret(request, sessionCookie);
  if (previous) await deletePageSession(ctx.db, sha256Hex(previous));
  const nowMs = ctx.clock();
  const lifetime = sessionLifetime(ctx.config);
  const secret = randomToken(32);
  await insertPageSession(ctx.db, {
    idHash: sha256Hex(secret),
    partnerId: input.partnerId,
    participantId: input.participantId,
    authMethod: input.authMethod,
    createdAt: new Date(nowMs),
    idleExpiresAt: new Date(nowMs + lifetime.idleSeconds * 1000),
    absoluteExpiresAt: new Date(nowMs + lifetime.absoluteSeconds * 1000),
  });
  reply.header(
    'set-cookie',
    serializeCookie(sessionCookie, secret, { secure: isSecure(ctx), maxAge: lifetime.absoluteSeconds }),
  );
}

/** Signs out: the server-side session is deleted, so the cookie is worthless even if a copy survives. */
export async function endSession(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const secret = readSecret(request, sessionCookie);
  if (secret) await deletePageSession(ctx.db, sha256Hex(secret));
  clearSessionCookie(ctx, reply);
}

function clearSessionCookie(ctx: AppContext, reply: FastifyReply): void {
  reply.header('set-cookie', serializeCookie(sessionCookie, '', { secure: isSecure(ctx), maxAge: 0 }));
}
