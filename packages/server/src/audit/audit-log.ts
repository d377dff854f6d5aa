import type { Logger } from 'pino';
import { type AuditEvent, insertAuditEvents } from '../store/audit.ts';
import type { DatabaseHandle, Db } from '../store/database.ts';

export interface AuditBatching {
  flushMs: number;
  batchSize: number;
  maxBuffered: number;
}

/**
 * How each store takes the trail. PostgreSQL: up to 1,000 events or 500 ms: under load, fewer and larger inserts
 * cost the event loop and the two cores less than 500 every 200 ms (1.065× req/s on client_auth_token, A/B), and
 * p99 barely moved (1.06× the rounds' median); batches of 2,000 gained no more and took p99 up ~20% (each insert is
 * a burst of PostgreSQL work on the same cores). PGlite runs each insert on the event loop, where a larger batch is
 * a longer stall (2,000 doubled p99 for no gain): it keeps 500 or 200 ms. Either way a graceful stop writes the
 * rest; a crash loses at most what one batch holds.
 */
export function auditBatching(kind: DatabaseHandle['kind']): AuditBatching {
  return kind === 'postgres'
    ? { flushMs: 500, batchSize: 1000, maxBuffered: 100_000 }
    : { flushMs: 200, batchSize: 500, maxBuffered: 100_000 };
}

/**
 * The audit trail, off the hot path: events are buffered and inserted in batches (every `flushMs`, or at
 * `batchSize`). A failed insert keeps the batch for the next attempt, up to `maxBuffered` events. `close()`
 * flushes what is left, so a graceful shutdown loses nothing.
 */
export class AuditLog {
  #buffer: AuditEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The batch being inserted; resolves to false when its insert failed (the batch is back in the buffer). */
  #flushing: Promise<boolean> | undefined;
  #inFlight = 0;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly options: AuditBatching = auditBatching('pglite'),
  ) {}

  record(event: AuditEvent): void {
    if (this.#buffer.length >= this.options.maxBuffered) {
      this.logger.error({ action: event.action }, 'audit buffer full; event dropped');
      return;
    }
    this.#buffer.push(event);
    if (this.#buffer.length >= this.options.batchSize) {
      // A flush under way writes batch after batch until the buffer is empty. Starting another for each event
      // recorded meanwhile queued one waiter per event, all woken at the end of every batch: CPU that grew with the
      // backlog just when the database was slow.
      if (!this.#flushing) void this.flush();
    } else this.#timer ??= setTimeout(() => void this.flush(), this.options.flushMs);
  }

  /** Events recorded and not yet written: buffered, or in the batch being inserted. */
  get pending(): number {
    return this.#buffer.length + this.#inFlight;
  }

  /**
   * Writes everything buffered so far, batch after batch; concurrent callers share the batch in flight and return
   * only once what they saw buffered is written (another caller's batch may hold part of it), or once an insert
   * has failed (the batch is kept and retried on a timer, not in a loop against a database that is down).
   */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (;;) {
      if (this.#flushing) {
        if (!(await this.#flushing)) return;
        continue;
      }
      if (this.#buffer.length === 0) return;
      const batch = this.#buffer.splice(0, this.options.batchSize);
      this.#inFlight = batch.length;
      this.#flushing = insertAuditEvents(this.db, batch)
        .then(
          () => true,
          (error: unknown) => {
            this.#buffer.unshift(...batch);
            this.logger.warn({ err: error, events: batch.length }, 'audit insert failed; will retry');
            this.#timer ??= setTimeout(() => void this.flush(), 1000);
            return false;
          },
        )
        .finally(() => {
          this.#inFlight = 0;
          this.#flushing = undefined;
        });
    }
  }

  async close(): Promise<void> {
    // Retry a few times so a brief outage at shutdown does not drop the trail.
    for (let attempt = 0; attempt < 5 && (this.#buffer.length > 0 || this.#flushing); attempt++) {
      await this.flush();
      if (this.#buffer.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
    clearTimeout(this.#timer);
  }
}
