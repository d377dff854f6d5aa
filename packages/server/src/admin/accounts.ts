import { hashPassword } from '../crypto/passwords.ts';
import { randomParticipantCode, randomToken } from '../crypto/random.ts';
import { createApiKey, createHmacCredential } from '../store/credentials.ts';
import type { Db } from '../store/database.ts';
import { IdentifierTakenError, identifierPattern, linkIdentifier } from '../store/identifiers.ts';
import { DuplicateParticipantError, insertParticipant, type Participant } from '../store/participants.ts';
import { findPartnerByCode, insertPartner, type Partner } from '../store/partners.ts';
import type { ParticipantKind, ParticipantStatus, PartnerSettings } from '../store/schema.ts';

/** A mistake in what an operator asked for; the CLI prints the message and exits non-zero. */
export class OperatorError extends Error {
  override name = 'OperatorError';
}

export interface NewPartnerAccount {
  platform_code: string;
  hmac: { api_key: string; secret: string; passphrase: string };
  api_key: string;
  username: string;
  password: string;
}

/**
 * A partner with everything it needs to integrate: an HMAC credential, an API key and a username/password.
 * The secrets are returned once and never stored in the clear.
 */
export async function createPartnerAccount(
  db: Db,
  masterKey: Buffer,
  input: { name: string; platformCode?: string; username?: string; settings?: PartnerSettings },
): Promise<NewPartnerAccount> {
  const platformCode = input.platformCode ?? randomParticipantCode();
  if (!/^[A-Z0-9]{6}$/.test(platformCode)) throw new OperatorError('platform code must be 6 characters A-Z or 0-9');
  if (input.name.trim() === '') throw new OperatorError('name must not be empty');
  const username = input.username ?? platformCode.toLowerCase();
  const password = randomToken(24);
  let partner: Partner;
  try {
    partner = await insertPartner(db, {
      name: input.name.trim(),
      platformCode,
      username,
      passwordHash: await hashPassword(password),
      ...(input.settings ? { settings: input.settings } : {}),
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new OperatorError(`platform code ${platformCode} or username ${username} is already in use`);
    }
    throw error;
  }
  const hmac = await createHmacCredential(db, masterKey, partner.id, 'created with partner');
  const apiKey = await createApiKey(db, partner.id, 'created with partner');
  return {
    platform_code: partner.platformCode,
    hmac: { api_key: hmac.api_key, secret: hmac.secret, passphrase: hmac.passphrase },
    api_key: apiKey.api_key,
    username,
    password,
  };
}

export async function requirePartner(db: Db, platformCode: string): Promise<Partner> {
  const partner = await findPartnerByCode(db, platformCode);
  if (!partner) throw new OperatorError(`no partner with platform code ${platformCode}`);
  return partner;
}

export interface NewUserInput {
  partnerCode: string;
  email: string | null;
  password?: string | undefined;
  status?: ParticipantStatus | undefined;
  identifier?: string | undefined;
  participantCode?: string | undefined;
  phoneNumber?: string | undefined;
  kind?: ParticipantKind | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
}

/** Creates an end user (participant) of a partner, optionally with a password and a linked identifier. */
export async function createUser(db: Db, input: NewUserInput, now: Date): Promise<Participant> {
  const partner = await requirePartner(db, input.partnerCode);
  if (input.participantCode !== undefined && !/^[A-Z0-9]{6}$/.test(input.participantCode)) {
    throw new OperatorError('participant code must be 6 characters A-Z or 0-9');
  }
  if (input.identifier !== undefined && !identifierPattern.test(input.identifier)) {
    throw new OperatorError('identifier must be 36-255 characters, A-Z, a-z or 0-9');
  }
  if (input.email !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email)) {
    throw new OperatorError('email must be an email address');
  }
  if (input.phoneNumber !== undefined && !/^\+[1-9]\d{1,14}$/.test(input.phoneNumber)) {
    throw new OperatorError('phone number must be E.164, e.g. +14155550100');
  }
  // Hashed before the transaction, so no connection is held during scrypt.
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  const attempt = () =>
    db.transaction().execute(async (trx) => {
      let participant: Participant;
      try {
        participant = await insertParticipant(trx, {
          partnerId: partner.id,
          email: input.email,
          phoneNumber: input.phoneNumber ?? null,
          status: input.status ?? 'approved',
          kind: input.kind ?? 'individual',
          passwordHash,
          firstName: input.firstName ?? null,
          lastName: input.lastName ?? null,
          ...(input.participantCode ? { participantCode: input.participantCode } : {}),
        });
      } catch (error) {
        if (error instanceof DuplicateParticipantError) throw new OperatorError(error.message, { cause: error });
        throw error;
      }
      if (input.identifier) {
        try {
          await linkIdentifier(trx, {
            identifier: input.identifier,
            partnerId: partner.id,
            participantId: participant.uuid,
            at: now,
          });
        } catch (error) {
          if (error instanceof IdentifierTakenError) throw new OperatorError(error.message);
          throw error;
        }
      }
      return participant;
    });
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (
        !(
          error instanceof OperatorError &&
          error.cause instanceof DuplicateParticipantError &&
          error.cause.retryable &&
          tries < 5
        )
      )
        throw error;
    }
  }
}
