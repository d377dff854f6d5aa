import type { FastifyRequest } from 'fastify';

/** The value of one cookie from the request's Cookie header; the first one when a name repeats. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  secure: boolean;
  /** Seconds; 0 deletes the cookie; omitted = until the browser session ends. */
  maxAge?: number;
}

/**
 * A Set-Cookie value for the pages: scoped to /private, never readable by script, not sent on cross-site
 * POSTs (Lax), and Secure whenever the public origin is https. Values are base64url, so no encoding needed.
 */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const attributes = [`${name}=${value}`, 'Path=/private', 'HttpOnly', 'SameSite=Lax'];
  if (options.secure) attributes.push('Secure');
  if (options.maxAge !== undefined) attributes.push(`Max-Age=${options.maxAge}`);
  return attributes.join('; ');
}
