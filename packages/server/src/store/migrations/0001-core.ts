import { type Kysely, sql } from 'kysely';

/** Partners, credentials, participants, signing keys and the client-access-token records. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE partners (
      id uuid PRIMARY KEY,
      platform_code text NOT NULL UNIQUE CHECK (platform_code ~ '^[A-Z0-9]{6}$'),
      name text NOT NULL,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
      username text NOT NULL UNIQUE,
      password_hash text NOT NULL,
      settings jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE hmac_credentials (
      id uuid PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      api_key text NOT NULL UNIQUE,
      secret_sealed text NOT NULL,
      passphrase_hash text NOT NULL,
      label text,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );
    CREATE INDEX hmac_credentials_partner ON hmac_credentials (partner_id);
    CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      key_hash text NOT NULL UNIQUE,
      prefix text NOT NULL,
      label text,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      last_used_at timestamptz
    );
    CREATE INDEX api_keys_partner ON api_keys (partner_id);
    CREATE TABLE participants (
      id uuid PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_code text NOT NULL UNIQUE CHECK (participant_code ~ '^[A-Z0-9]{6}$'),
      kind text NOT NULL CHECK (kind IN ('individual', 'merchant', 'platform')),
      email text,
      phone_number text,
      status text NOT NULL CHECK (status IN ('submitted', 'pending_approval', 'approved', 'rejected', 'locked',
        'pending_unlock', 'pending_disable', 'disabled', 'divested', 'closed')),
      password_hash text,
      first_name text,
      last_name text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE UNIQUE INDEX participants_partner_email ON participants (partner_id, lower(email))
      WHERE deleted_at IS NULL AND email IS NOT NULL;
    CREATE TABLE identifiers (
      identifier text PRIMARY KEY CHECK (identifier ~ '^[A-Za-z0-9]{36,255}$'),
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_id uuid REFERENCES participants (id),
      status text NOT NULL CHECK (status IN ('pending', 'linked')),
      return_url text,
      created_at timestamptz NOT NULL DEFAULT now(),
      linked_at timestamptz
    );
    CREATE INDEX identifiers_participant ON identifiers (participant_id);
    CREATE TABLE signing_keys (
      kid text PRIMARY KEY,
      alg text NOT NULL,
      public_jwk jsonb NOT NULL,
      private_sealed text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      activates_at timestamptz NOT NULL
    );
    CREATE TABLE deposit_intents (
      id uuid PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_id uuid REFERENCES participants (id),
      reference_id text,
      details jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending',
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE payments (
      id uuid PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_id uuid REFERENCES participants (id),
      reference_id text,
      kind text NOT NULL CHECK (kind IN ('withdrawal', 'payout', 'payment')),
      details jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending',
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE client_token_references (
      partner_id uuid NOT NULL REFERENCES partners (id),
      reference_id text NOT NULL,
      content_hash text NOT NULL,
      deposit_intent_id uuid REFERENCES deposit_intents (id),
      payment_id uuid REFERENCES payments (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (partner_id, reference_id)
    );
    CREATE TABLE revoked_tokens (
      jti text PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
    CREATE TABLE audit_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at timestamptz NOT NULL,
      surface text NOT NULL,
      action text NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('success', 'rejected')),
      reason text,
      partner_id uuid,
      credential_id uuid,
      participant_id uuid,
      request_id text,
      ip text,
      detail jsonb
    );
    CREATE INDEX audit_events_partner_at ON audit_events (partner_id, at);
  `.execute(db);
}
