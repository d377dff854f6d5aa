import { identifierPattern } from '../../store/identifiers.ts';
import { participantStatuses } from '../../store/participants.ts';
import type { ParticipantStatus } from '../../store/schema.ts';
import type { ImportFields } from './records.ts';

/** A row that passed validation, ready to insert. */
export interface ImportUser {
  email: string | null;
  phoneNumber: string | null;
  participantCode: string | null;
  status: ParticipantStatus;
  identifier: string | null;
  firstName: string | null;
  lastName: string | null;
  password: string | null;
}

// The same rules as the partner API and `handoff user create`.
const rules: Array<[keyof ImportFields, (value: string) => string | undefined]> = [
  ['email', (v) => (v.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? undefined : 'must be an email address')],
  ['phone_number', (v) => (/^\+[1-9]\d{1,14}$/.test(v) ? undefined : 'must be E.164, e.g. +14155550100')],
  ['participant_code', (v) => (/^[A-Z0-9]{6}$/.test(v) ? undefined : 'must be 6 characters A-Z or 0-9')],
  [
    'status',
    (v) =>
      (participantStatuses as readonly string[]).includes(v)
        ? undefined
        : `must be one of ${participantStatuses.join(', ')}`,
  ],
  ['identifier', (v) => (identifierPattern.test(v) ? undefined : 'must be 36-255 characters A-Z, a-z or 0-9')],
  ['first_name', (v) => (v.length <= 100 ? undefined : 'must be at most 100 characters')],
  ['last_name', (v) => (v.length <= 100 ? undefined : 'must be at most 100 characters')],
  ['password', (v) => (v.length >= 8 && v.length <= 256 ? undefined : 'must be 8 to 256 characters')],
];

/** The row as an ImportUser, or one message per problem (`field: what is wrong`). */
export function validateRow(fields: ImportFields): { user: ImportUser } | { problems: string[] } {
  const problems: string[] = [];
  for (const [field, check] of rules) {
    const value = fields[field];
    const problem = value === undefined ? undefined : check(value);
    if (problem) problems.push(`${field}: ${problem}`);
  }
  if (!fields.email && !fields.participant_code) problems.push('email or participant_code is required');
  if (problems.length > 0) return { problems };
  return {
    user: {
      email: fields.email ?? null,
      phoneNumber: fields.phone_number ?? null,
      participantCode: fields.participant_code ?? null,
      status: (fields.status as ParticipantStatus | undefined) ?? 'approved',
      identifier: fields.identifier ?? null,
      firstName: fields.first_name ?? null,
      lastName: fields.last_name ?? null,
      password: fields.password ?? null,
    },
  };
}
