import { HandoffRequestError } from './errors.ts';

/** What every client shares: where Handoff is, how long to wait, how often to retry, and which fetch to use. */
export interface TransportOptions {
  /** Handoff's base URL, e.g. `https://handoff.example.com` (a path prefix is kept). */
  baseUrl: string | URL;
  /** Per attempt, in milliseconds, including reading the answer. Default 10 000. */
  timeoutMs?: number;
  /** Extra attempts after a timeout or network failure, for requests that are safe to repeat. Default 2. */
  retries?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export interface PreparedRequest {
  headers: Record<string, string>;
  body?: string;
}

export interface Transport {
  /** The absolute URL of a path under the base URL; its `pathname + search` is what the server sees. */
  url(path: string): URL;
  /**
   * Sends a request. `prepare` runs before every attempt, so each attempt can carry fresh headers (a new HMAC
   * signature). With `retry`, timeouts and network failures are retried with a short backoff.
   */
  send(method: 'GET' | 'POST', url: URL, prepare: () => Promise<PreparedRequest>, retry: boolean): Promise<HttpAnswer>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new TypeError(`${name} must be a whole number ≥ ${min}`);
  return value;
}

export function createTransport(options: TransportOptions): Transport {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError('baseUrl must be http(s)');
  // A trailing slash makes relative resolution keep a path prefix (https://host/handoff + client_auth_token).
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const timeoutMs = checkCount('timeoutMs', options.timeoutMs ?? 10_000, 1);
  const retries = checkCount('retries', options.retries ?? 2, 0);
  const fetchImpl = options.fetch ?? globalThis.fetch;

  return {
    url: (path) => new URL(path.replace(/^\/+/, ''), base),
    async send(method, url, prepare, retry) {
      const attempts = retry ? retries + 1 : 1;
      let lastError: unknown;
      let timedOut = false;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const prepared = await prepare();
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), timeoutMs);
        try {
          const response = await fetchImpl(url, {
            method,
            headers: prepared.headers,
            ...(prepared.body === undefined ? {} : { body: prepared.body }),
            signal: controller.signal,
            redirect: 'manual',
          });
          // The timeout covers reading the answer too.
          return { status: response.status, headers: response.headers, body: await response.text() };
        } catch (error) {
          lastError = error;
          timedOut = controller.signal.aborted;
        } finally {
          clearTimeout(timer);
        }
        if (attempt < attempts) await sleep(Math.min(1000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      }
      throw new HandoffRequestError(
        timedOut ? 'timeout' : 'network',
        timedOut
          ? `${method} ${url.pathname}: no answer within ${timeoutMs} ms`
          : `${method} ${url.pathname}: ${(lastError as Error).message}`,
        { attempts, cause: lastError },
      );
    },
  };
}

/** `Retry-After` in seconds, when it is a number. */
export function retryAfterSeconds(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function parseJson(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.body);
  } catch {
    return undefined;
  }
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
