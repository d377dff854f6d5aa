import { closeSync, openSync, writeSync } from 'node:fs';
import { type Credential, signHeaders } from '../../packages/server/test/partner-signing.ts';

/** One HTTP request as the load generator sends it. */
export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * The requests a load run sends, in order. A pool of distinct requests is for targets that must never see the
 * same request twice (signed requests: a repeat is a replay); `cycle` ones may be repeated.
 */
export interface RequestPool {
  count: number;
  at(index: number): RequestSpec;
  /** true: repeating requests is fine (the generator wraps around); false: each request may be sent once. */
  cycle: boolean;
}

export const fixedPool = (request: RequestSpec): RequestPool => ({ count: 1, at: () => request, cycle: true });

export const cyclingPool = (requests: readonly RequestSpec[]): RequestPool => ({
  count: requests.length,
  at: (i) => requests[i] as RequestSpec,
  cycle: true,
});

/** The request as bytes on the wire (HTTP/1.1, keep-alive). */
export function rawRequest(request: RequestSpec, host: string): string {
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(request.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${request.body ?? ''}`;
}

/**
 * Writes the pool for the wrk script: raw requests separated by NUL (which HTTP headers and JSON bodies never
 * contain), written in batches so a million requests never sit in memory as one string.
 */
export function writePoolFile(pool: RequestPool, host: string, file: string): void {
  const fd = openSync(file, 'w');
  try {
    let batch: string[] = [];
    for (let i = 0; i < pool.count; i++) {
      batch.push(rawRequest(pool.at(i), host), '\0');
      if (batch.length >= 20_000) {
        writeSync(fd, batch.join(''));
        batch = [];
      }
    }
    if (batch.length > 0) writeSync(fd, batch.join(''));
  } finally {
    closeSync(fd);
  }
}

/**
 * What partners ask tokens for: SDK experiences, as permission sets that need no details object. Each is a
 * different body, so the same user and second give several distinct signed requests: with 3,000 users, 48,000 a
 * second, room for pools sized 2.5× a server running 12,000 req/s (sixteen sets, not more users: every user is a
 * participant-cache miss a minute, which would change what is measured).
 */
const experiences = [
  '["crypto-buy","crypto-sell"]',
  '["onboarding"]',
  '["participant-profile"]',
  '["fiat-deposits","fiat-withdrawals"]',
  '["crypto-buy"]',
  '["crypto-sell"]',
  '["csp-active","crypto-account-link"]',
  '["update-participant","fiat-account-link"]',
  '["fiat-deposits"]',
  '["fiat-withdrawals"]',
  '["onboarding","participant-profile"]',
  '["csp-active"]',
  '["crypto-account-link"]',
  '["fiat-account-link"]',
  '["update-participant"]',
  '["crypto-buy","crypto-sell","participant-profile"]',
] as const;

/**
 * Hands out (timestamp, participant, experience) combinations never used before against one server, so every
 * signed request is distinct: the replay guard sees each signature once. Timestamps are chosen inside the part of
 * the 60 s window that stays valid for the whole run; each second offers participants × experiences requests.
 */
export class SignedRequestSource {
  /** Per timestamp, how many combinations have been used with it (taken in order). */
  #usedPerTimestamp = new Map<number, number>();
  readonly #perTimestamp: number;

  constructor(
    private readonly credential: Credential,
    private readonly participantCodes: readonly string[],
  ) {
    this.#perTimestamp = participantCodes.length * experiences.length;
  }

  /** Requests from the fixtures' partner for every fixture user. */
  static forFixtures(fixtures: {
    partner: { hmac: Credential };
    users: ReadonlyArray<{ participantCode: string }>;
  }): SignedRequestSource {
    return new SignedRequestSource(
      fixtures.partner.hmac,
      fixtures.users.map((u) => u.participantCode),
    );
  }

  /**
   * `count` distinct signed `POST /client_auth_token` requests, valid from now until `validForSeconds` from now.
   * Throws when the usable timestamps cannot cover `count` (make more participants).
   */
  clientAuthTokenPool(count: number, validForSeconds: number): RequestPool {
    const window = 60;
    const margin = 2;
    const now = Math.floor(Date.now() / 1000);
    // Valid at every moment t in [now, now + validFor]: |t - ts| <= window - margin.
    const first = now + validForSeconds - (window - margin);
    const last = now + (window - margin);
    const slots: Array<{ timestamp: number; from: number; start: number }> = [];
    let available = 0;
    for (let ts = last; ts >= first && available < count; ts--) {
      const from = this.#usedPerTimestamp.get(ts) ?? 0;
      const to = Math.min(this.#perTimestamp, from + (count - available));
      if (to > from) {
        slots.push({ timestamp: ts, from, start: available });
        available += to - from;
        this.#usedPerTimestamp.set(ts, to);
      }
    }
    if (available < count) {
      throw new Error(`only ${available} distinct signed requests possible for ${count}: more participants are needed`);
    }
    const users = this.participantCodes.length;
    // Requests are signed when the generator asks for them, so a large pool never sits in memory.
    const at = (index: number): RequestSpec => {
      let lo = 0;
      let hi = slots.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((slots[mid] as (typeof slots)[number]).start <= index) lo = mid;
        else hi = mid - 1;
      }
      const slot = slots[lo] as (typeof slots)[number];
      const combination = slot.from + index - slot.start;
      const code = this.participantCodes[combination % users];
      const body = `{"participant_code":"${code}","permissions":${experiences[Math.floor(combination / users)]}}`;
      return {
        method: 'POST',
        path: '/client_auth_token',
        headers: {
          'Content-Type': 'application/json',
          ...signHeaders(this.credential, 'POST', '/client_auth_token', body, slot.timestamp),
        },
        body,
      };
    };
    return { count, at, cycle: false };
  }
}
