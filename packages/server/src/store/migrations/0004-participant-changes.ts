import { type Kysely, sql } from 'kysely';

/**
 * Every change to a participant row, whoever makes it (an instance, the CLI, the KYC pipeline's own SQL), notifies
 * channel `handoff_participants` with the row's cache key (`participantKey`: partner id, a space, the code), so
 * each instance drops its cached copy when the change commits instead of serving it until its TTL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION handoff_participant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('handoff_participants', OLD.partner_id::text || ' ' || OLD.participant_code);
      IF TG_OP = 'UPDATE' AND (NEW.partner_id, NEW.participant_code) IS DISTINCT FROM (OLD.partner_id, OLD.participant_code) THEN
        PERFORM pg_notify('handoff_participants', NEW.partner_id::text || ' ' || NEW.participant_code);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER participants_changed AFTER UPDATE OR DELETE ON participants
      FOR EACH ROW EXECUTE FUNCTION handoff_participant_changed();
  `.execute(db);
}
