import type { Logger } from 'pino';
import { type AuditEvent, insertAuditEvents } from '../store/audit.ts';
import type { Db } from '../store/database.ts';

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
    private readonly options = { flushMs: 200, batchSize: 500, maxBuffered: 100_000 },
  ) {}

  record(event: AuditEvent): void {
    if (this.#buffer.length >= this.options.maxBuffered) {
      this.logger.error({ action: event.action }, 'audit buffer full; event dropped');
      return;
    }
    this.#buffer.push(event);
    // Below a batch, the timer writes it. A full batch is taken by the flush under way, if any (it writes batch after
    // batch until the buffer is empty): starting another per event queued one waiter per event, all woken at the end
    // of every batch, CPU that grew with the backlog just when the database was slow.
    if (this.#buffer.length < this.options.batchSize)
      this.#timer ??= setTimeout(() => void this.flush(), this.options.flushMs);
    else if (!this.#flushing) void this.flush();
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
