import { type Kysely, sql } from 'kysely';

/**
 * One-time login tokens, rotating refresh tokens and identifier-link requests of the partner API.
 * Only SHA-256 hashes of tokens are stored.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE login_tokens (
      token_hash text PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_id uuid NOT NULL REFERENCES participants (id),
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    );
    CREATE INDEX login_tokens_expiry ON login_tokens (expires_at);
    CREATE TABLE refresh_tokens (
      token_hash text PRIMARY KEY,
      family_id uuid NOT NULL,
      subject text NOT NULL CHECK (subject IN ('partner', 'user')),
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_id uuid REFERENCES participants (id),
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      revoked_at timestamptz
    );
    CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
    CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
    CREATE TABLE identifier_link_requests (
      token_hash text PRIMARY KEY,
      identifier text NOT NULL CHECK (identifier ~ '^[A-Za-z0-9]{36,255}$'),
      partner_id uuid NOT NULL REFERENCES partners (id),
      return_url text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    );
  `.execute(db);
}
