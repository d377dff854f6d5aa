import type { FastifyReply } from 'fastify';
import type { AppContext } from '../context.ts';
import { pageHeaders } from './headers.ts';
import type { Html } from './html.ts';
import { type PageProblem, problems } from './problems.ts';
import { type ProblemView, problemView } from './views/problem.ts';

export function sendPage(
  reply: FastifyReply,
  status: number,
  page: Html,
  options: { formTargets?: readonly string[] } = {},
): FastifyReply {
  return reply.code(status).headers(pageHeaders(options)).send(page.value);
}

/** POST-redirect-GET: 303 to a page of ours (a path) or a partner's checked return URL. */
export function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).headers(pageHeaders()).header('location', location).send();
}

/** A problem page, counted like any other rejected request. */
export function sendProblem(
  ctx: AppContext,
  reply: FastifyReply,
  view: ProblemView & { problem: PageProblem },
): FastifyReply {
  const copy = problems[view.problem];
  ctx.metrics.tokensRejected.inc({ surface: 'pages', reason: copy.code ?? view.problem });
  return sendPage(reply, copy.status, problemView(view));
}
