import type { FastifyRequest } from 'fastify';
import { HandoffError } from '../errors/catalogue.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The fields of a posted HTML form (application/x-www-form-urlencoded, what a form without JavaScript sends).
 * An empty body is an empty form, so a post missing its CSRF field is refused as such.
 */
export function readForm(request: FastifyRequest): URLSearchParams {
  const raw = request.rawBody;
  if (!raw || raw.length === 0) return new URLSearchParams();
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType))
    throw new HandoffError('unsupported_media_type');
  try {
    return new URLSearchParams(utf8.decode(raw));
  } catch {
    throw new HandoffError('invalid_request', { details: ['body: is not valid UTF-8'] });
  }
}

/**
 * Whether the browser says this request comes from another site. Forms are only ever posted from our own pages,
 * so `same-site` (a sibling subdomain) is refused too; `same-origin`, `none` and browsers that do not send the
 * header pass on to the CSRF token check.
 */
export function isCrossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site';
}

/** One value of a query parameter: the first when it repeats. */
export function queryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}
