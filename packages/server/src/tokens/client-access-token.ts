import { createHash } from 'node:crypto';
import { compactVerify, type JWTPayload } from 'jose';
import type { LookupCache } from '../cache/lookup-cache.ts';
import type { Config } from '../config.ts';
import type { KeyRing } from '../crypto/signing-keys.ts';
import { clientTokenLifetimeSeconds, firstDisallowedPermission, type Permission } from '../domain/permissions.ts';
import { HandoffError } from '../errors/catalogue.ts';
import type { ClientAuthTokenRequest } from '../routes/client-tokens/schemas.ts';
import { ReferenceConflictError, recordIssuance } from '../store/client-tokens.ts';
import type { Db } from '../store/database.ts';
import { findParticipantByEmail, type Participant, participantKey } from '../store/participants.ts';
import type { PartnerSettings } from '../store/schema.ts';
import { randomJti, signCompactJws } from './compact-jws.ts';

export const clientTokenType = 'client-auth+jwt';

export interface ClientTokenClaims extends JWTPayload {
  platform_code: string;
  participant_code?: string;
  email?: string;
  phone_number?: string;
  permissions: Permission[];
  payload: Record<string, unknown>;
}

export interface IssuedClientToken {
  token: string;
  jti: string;
  expiresAt: Date;
  participant: Participant | undefined;
  depositIntentId?: string;
  paymentId?: string;
}

interface Deps {
  db: Db;
  participants: LookupCache<Participant>;
  keyRing: KeyRing;
  config: Pick<Config, 'issuer' | 'audience'>;
  clock: () => number;
}

/** Canonical JSON (sorted keys) so the same content always hashes alike, whatever the key order sent. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function resolveSubject(deps: Deps, partnerId: string, body: ClientAuthTokenRequest) {
  if (body.participant_code) {
    const participant = await deps.participants.get(participantKey(partnerId, body.participant_code));
    if (!participant || participant.kind === 'platform') throw new HandoffError('participant_not_found');
    if (body.email && participant.email?.toLowerCase() !== body.email.toLowerCase()) {
      throw new HandoffError('not_allowed', { message: 'email does not match participant' });
    }
    return participant;
  }
  const email = body.email as string;
  const participant = await findParticipantByEmail(deps.db, partnerId, email);
  if (participant && participant.kind !== 'platform') return participant;
  // Pre-onboarding: no participant yet, the token carries the email and may only open onboarding.
  if (body.permissions.length !== 1 || body.permissions[0] !== 'onboarding') {
    throw new HandoffError('not_allowed', {
      message: 'no participant with this email; a pre-onboarding token allows exactly ["onboarding"]',
    });
  }
  return undefined;
}

/**
 * Mints a client access token for a validated request of an authenticated platform: resolves who it is for,
 * applies the status rules, records deposit intents / payments, and signs the JWT with the current key.
 */
export async function issueClientAccessToken(
  deps: Deps,
  partner: { id: string; platformCode: string; settings: PartnerSettings },
  body: ClientAuthTokenRequest,
): Promise<IssuedClientToken> {
  if (!body.participant_code && !body.email) {
    throw new HandoffError('invalid_request', { details: ['body: participant_code or email is required'] });
  }
  const participant = await resolveSubject(deps, partner.id, body);
  if (participant) {
    const denied = firstDisallowedPermission(participant.status, body.permissions);
    if (denied) {
      throw new HandoffError('not_allowed', {
        message: `participant ${participant.participantCode} is ${participant.status}; ${denied} not allowed`,
      });
    }
  }
  if (body.merchant_participant_code !== undefined) {
    const merchant = await deps.participants.get(participantKey(partner.id, body.merchant_participant_code));
    if (merchant?.kind !== 'merchant') throw new HandoffError('merchant_not_found');
  }

  const paymentKind = body.permissions.includes('crypto-pay')
    ? 'payment'
    : body.permissions.includes('crypto-withdrawals')
      ? 'withdrawal'
      : body.permissions.includes('crypto-payouts')
        ? 'payout'
        : undefined;
  let records: { depositIntentId?: string; paymentId?: string };
  try {
    records = await recordIssuance(deps.db, {
      partnerId: partner.id,
      participantId: participant?.uuid ?? null,
      referenceId: body.reference_id,
      // Only a reference_id is compared with earlier content: without one nothing reads the hash (hot path).
      contentHash: body.reference_id === undefined ? '' : createHash('sha256').update(canonical(body)).digest('hex'),
      depositDetails: body.permissions.includes('fwc') ? body.deposit_details : undefined,
      payment: paymentKind && {
        kind: paymentKind,
        details: (paymentKind === 'payment' ? body.payment_details : body.withdrawal_details) ?? {},
      },
    });
  } catch (error) {
    if (error instanceof ReferenceConflictError) throw new HandoffError('reference_conflict');
    throw error;
  }

  const { participant_code, email, phone_number, permissions, ...rest } = body;
  // The rest is already a fresh object of the request's other fields: it is the payload, without another copy.
  const payload: Record<string, unknown> = rest;
  const claims: ClientTokenClaims = { platform_code: partner.platformCode, permissions: [...permissions], payload };
  if (participant) {
    claims.participant_code = participant.participantCode;
    if (email !== undefined) payload.email = email;
    if (phone_number !== undefined) payload.phone_number = phone_number;
  } else {
    claims.email = email as string;
    if (phone_number !== undefined) claims.phone_number = phone_number;
  }
  if (records.depositIntentId) payload.deposit_intent_id = records.depositIntentId;
  if (records.paymentId) payload.payment_id = records.paymentId;

  const iat = Math.floor(deps.clock() / 1000);
  const exp = iat + clientTokenLifetimeSeconds(permissions, partner.settings.clientTokenTtlSeconds);
  const jti = randomJti();
  // Added to the same object rather than spread into a new one: the spread copy measured ~2 KB and ~5 µs more per
  // token, serialisation included (bench/README.md, change 27).
  claims.iss = deps.config.issuer;
  claims.aud = deps.config.audience;
  claims.iat = iat;
  claims.nbf = iat;
  claims.exp = exp;
  claims.jti = jti;
  const token = await signCompactJws(deps.keyRing.signingKey(), clientTokenType, claims);
  return { token, jti, expiresAt: new Date(exp * 1000), participant, ...records };
}

/**
 * Verifies a client access token against our published keys: signature with a pinned algorithm, `typ`, issuer
 * and audience. Expiry is reported, not enforced, so revocation can accept expired tokens. `undefined` = not ours.
 */
export async function verifyClientAccessToken(
  deps: Pick<Deps, 'keyRing' | 'config' | 'clock'>,
  token: string,
): Promise<{ claims: ClientTokenClaims; expired: boolean } | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(
      token,
      async (header) => {
        const key = await deps.keyRing.verificationKey(header.kid);
        if (!key || key.alg !== header.alg) throw new Error('unknown key');
        return key.publicKey;
      },
      { algorithms: deps.keyRing.algorithms() },
    );
    if (protectedHeader.typ !== clientTokenType) return undefined;
    const claims = JSON.parse(new TextDecoder().decode(payload)) as ClientTokenClaims;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== deps.config.issuer || !audiences.includes(deps.config.audience)) return undefined;
    if (typeof claims.exp !== 'number' || typeof claims.jti !== 'string' || typeof claims.platform_code !== 'string') {
      return undefined;
    }
    const now = deps.clock() / 1000;
    const notYet = typeof claims.nbf === 'number' && claims.nbf > now + 60;
    return notYet ? undefined : { claims, expired: claims.exp <= now };
  } catch {
    return undefined;
  }
}
