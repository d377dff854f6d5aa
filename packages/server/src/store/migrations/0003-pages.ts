import { type Kysely, sql } from 'kysely';

/**
 * The hosted private pages: server-side sessions (only a SHA-256 hash of the cookie value is stored, so a read
 * of this table signs no one in) and the support messages users send from those pages. `auth_method` records how
 * a session was established (a one-time login link or a password), for investigations.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE page_sessions (
      id_hash text PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_id uuid NOT NULL REFERENCES participants (id),
      auth_method text NOT NULL CHECK (auth_method IN ('login_token', 'password')),
      created_at timestamptz NOT NULL,
      idle_expires_at timestamptz NOT NULL,
      absolute_expires_at timestamptz NOT NULL,
      -- The idle expiry slides with activity but never past the absolute one: it alone says whether a session is over.
      CHECK (idle_expires_at <= absolute_expires_at)
    );
    CREATE INDEX page_sessions_idle_expiry ON page_sessions (idle_expires_at);
    CREATE TABLE support_messages (
      id uuid PRIMARY KEY,
      partner_id uuid NOT NULL REFERENCES partners (id),
      participant_id uuid NOT NULL REFERENCES participants (id),
      topic text NOT NULL CHECK (topic IN ('verification', 'upgrade', 'payments', 'other')),
      body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
      created_at timestamptz NOT NULL
    );
    CREATE INDEX support_messages_participant ON support_messages (participant_id, created_at);
  `.execute(db);
}
