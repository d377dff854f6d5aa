import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { isValidCsrfToken } from './csrf.ts';
import { isCrossSite, readForm } from './forms.ts';

export type FormCheck = { ok: true; form: URLSearchParams } | { ok: false; problem: 'cross_site' | 'form_rejected' };

/**
 * The two CSRF defences every page form passes, in order: the browser's Sec-Fetch-Site (another site's post is
 * refused before its body is read), then the form's token, bound to `binding` (the pre-session secret before
 * sign-in, the session secret after) and to the form's action.
 */
export function checkPostedForm(
  ctx: AppContext,
  request: FastifyRequest,
  binding: string | undefined,
  action: string,
): FormCheck {
  if (isCrossSite(request)) return { ok: false, problem: 'cross_site' };
  const form = readForm(request);
  if (!isValidCsrfToken(ctx.masterKey, binding, action, form.get('csrf') ?? undefined)) {
    return { ok: false, problem: 'form_rejected' };
  }
  return { ok: true, form };
}
