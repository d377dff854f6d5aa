import type { ParticipantStatus } from '@handoff/sdk/contract';
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** Row types of the one schema shared by PostgreSQL and the embedded PGlite store (see migrations/). */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface PartnerSettings {
  clientTokenTtlSeconds?: number;
  loginTokenTtlSeconds?: number;
  allowedReturnOrigins?: string[];
  rateLimitPerMinute?: number;
}

export interface PartnersTable {
  id: string;
  platform_code: string;
  name: string;
  status: 'active' | 'disabled';
  username: string;
  password_hash: string;
  settings: JSONColumnType<PartnerSettings>;
  created_at: CreatedAt;
}

export interface HmacCredentialsTable {
  id: string;
  partner_id: string;
  api_key: string;
  secret_sealed: string;
  passphrase_hash: string;
  label: string | null;
  created_at: CreatedAt;
  revoked_at: NullableTimestamp;
}

export interface ApiKeysTable {
  id: string;
  partner_id: string;
  key_hash: string;
  prefix: string;
  label: string | null;
  created_at: CreatedAt;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

export type { ParticipantStatus };

export type ParticipantKind = 'individual' | 'merchant' | 'platform';

export interface ParticipantsTable {
  id: string;
  partner_id: string;
  participant_code: string;
  kind: ParticipantKind;
  email: string | null;
  phone_number: string | null;
  status: ParticipantStatus;
  password_hash: string | null;
  first_name: string | null;
  last_name: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface IdentifiersTable {
  identifier: string;
  partner_id: string;
  participant_id: string | null;
  status: 'pending' | 'linked';
  return_url: string | null;
  created_at: CreatedAt;
  linked_at: NullableTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: JSONColumnType<Record<string, unknown>>;
  private_sealed: string;
  created_at: CreatedAt;
  activates_at: Timestamp;
}

export interface DepositIntentsTable {
  id: string;
  partner_id: string;
  participant_id: string | null;
  reference_id: string | null;
  details: JSONColumnType<Record<string, unknown>>;
  status: 'pending';
  created_at: CreatedAt;
}

export interface PaymentsTable {
  id: string;
  partner_id: string;
  participant_id: string | null;
  reference_id: string | null;
  kind: 'withdrawal' | 'payout' | 'payment';
  details: JSONColumnType<Record<string, unknown>>;
  status: 'pending';
  created_at: CreatedAt;
}

export interface ClientTokenReferencesTable {
  partner_id: string;
  reference_id: string;
  content_hash: string;
  deposit_intent_id: string | null;
  payment_id: string | null;
  created_at: CreatedAt;
}

export interface RevokedTokensTable {
  jti: string;
  partner_id: string;
  expires_at: Timestamp;
  revoked_at: CreatedAt;
}

export interface AuditEventsTable {
  id: Generated<string>;
  at: Timestamp;
  surface: string;
  action: string;
  outcome: 'success' | 'rejected';
  reason: string | null;
  partner_id: string | null;
  credential_id: string | null;
  participant_id: string | null;
  request_id: string | null;
  ip: string | null;
  detail: JSONColumnType<Record<string, unknown>> | null;
}

export interface LoginTokensTable {
  token_hash: string;
  partner_id: string;
  participant_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface RefreshTokensTable {
  token_hash: string;
  family_id: string;
  subject: 'partner' | 'user';
  partner_id: string;
  participant_id: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface IdentifierLinkRequestsTable {
  token_hash: string;
  identifier: string;
  partner_id: string;
  return_url: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface PageSessionsTable {
  id_hash: string;
  partner_id: string;
  participant_id: string;
  auth_method: 'login_token' | 'password';
  created_at: Timestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
}

export type SupportTopic = 'verification' | 'upgrade' | 'payments' | 'other';

export interface SupportMessagesTable {
  id: string;
  partner_id: string;
  participant_id: string;
  topic: SupportTopic;
  body: string;
  created_at: Timestamp;
}

export interface Database {
  page_sessions: PageSessionsTable;
  support_messages: SupportMessagesTable;
  identifier_link_requests: IdentifierLinkRequestsTable;
  login_tokens: LoginTokensTable;
  refresh_tokens: RefreshTokensTable;
  partners: PartnersTable;
  hmac_credentials: HmacCredentialsTable;
  api_keys: ApiKeysTable;
  participants: ParticipantsTable;
  identifiers: IdentifiersTable;
  signing_keys: SigningKeysTable;
  deposit_intents: DepositIntentsTable;
  payments: PaymentsTable;
  client_token_references: ClientTokenReferencesTable;
  revoked_tokens: RevokedTokensTable;
  audit_events: AuditEventsTable;
}
