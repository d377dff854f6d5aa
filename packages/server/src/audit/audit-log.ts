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
  #flushing: Promise<void> | undefined;

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
    if (this.#buffer.length >= this.options.batchSize) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.options.flushMs);
  }

  get pending(): number {
    return this.#buffer.length;
  }

  /** Writes everything buffered so far; concurrent callers share one flush. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing) return this.#flushing.then(() => (this.#buffer.length > 0 ? this.flush() : undefined));
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer.splice(0, this.options.batchSize);
    this.#flushing = insertAuditEvents(this.db, batch)
      .catch((error: unknown) => {
        this.#buffer.unshift(...batch);
        this.logger.warn({ err: error, events: batch.length }, 'audit insert failed; will retry');
        this.#timer ??= setTimeout(() => void this.flush(), 1000);
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    await this.#flushing;
    if (this.#buffer.length > 0 && !this.#timer) await this.flush();
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
