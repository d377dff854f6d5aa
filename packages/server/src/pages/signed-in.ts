import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { csrfToken } from './csrf.ts';
import { sendProblem } from './respond.ts';
import { readSession, type SignedIn } from './sessions.ts';
import { chromeOf, type SignedInChrome } from './views/chrome.ts';

export const signOutAction = '/private/logout';

/** The signed-in user, or undefined after answering with the "not signed in" / "session ended" page. */
export async function requireSignedIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<SignedIn | undefined> {
  const state = await readSession(ctx, request, reply);
  if (state.state === 'active') return state;
  sendProblem(ctx, reply, { problem: state.state === 'ended' ? 'session_ended' : 'not_signed_in' });
  return undefined;
}

export const signedInChrome = (ctx: AppContext, signedIn: SignedIn): SignedInChrome =>
  chromeOf(signedIn, csrfToken(ctx.masterKey, signedIn.secret, signOutAction));
