import { performance } from 'node:perf_hooks';
import type { ImportTotals } from './import-users.ts';

const count = (n: number) => n.toLocaleString('en-US');

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Import progress on stderr: a redrawn bar with rate and ETA on a terminal, a plain line every few seconds
 * otherwise (logs, CI). The fraction done is the share of the file's bytes read; without a size, no ETA.
 */
export class ImportProgress {
  readonly #started = performance.now();
  #lastDraw = this.#started;
  #drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly totalBytes: number | undefined,
    private readonly bytesRead: () => number,
    /** How often to redraw: a terminal several times a second, a log every few seconds. */
    private readonly intervalMs = out.isTTY ? 100 : 5000,
  ) {}

  get elapsedSeconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  #describe(totals: ImportTotals): { fraction: number | undefined; text: string } {
    const elapsed = this.elapsedSeconds;
    const rate = elapsed > 0 ? totals.rows / elapsed : 0;
    const fraction = this.totalBytes ? Math.min(1, this.bytesRead() / this.totalBytes) : undefined;
    const eta = fraction && fraction > 0 ? (elapsed * (1 - fraction)) / fraction : undefined;
    const parts = [
      `${count(totals.rows)} rows`,
      `${count(Math.round(rate))} rows/s`,
      ...(eta === undefined ? [] : [`ETA ${duration(eta)}`]),
      `${count(totals.imported)} imported, ${count(totals.skipped)} skipped, ${count(totals.rejected)} rejected`,
    ];
    return { fraction, text: parts.join(' · ') };
  }

  update(totals: ImportTotals): void {
    const now = performance.now();
    if (now - this.#lastDraw < this.intervalMs) return;
    this.#lastDraw = now;
    this.#draw(totals);
  }

  #draw(totals: ImportTotals): void {
    const { fraction, text } = this.#describe(totals);
    const percent = fraction === undefined ? '' : `${Math.floor(fraction * 100)}%`;
    if (!this.out.isTTY) {
      this.out.write(`import: ${percent ? `${percent} · ` : ''}${text}\n`);
      return;
    }
    const width = 24;
    const filled = Math.round((fraction ?? 0) * width);
    const bar =
      fraction === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent.padStart(4)} `;
    const line = `${bar}${text}`.slice(0, Math.max(20, (this.out.columns ?? 120) - 1));
    this.out.write(`\r\x1b[K${line}`);
    this.#drawn = true;
  }

  /** A line of its own (a rejected row), without tearing the bar. */
  log(line: string): void {
    this.out.write(this.out.isTTY && this.#drawn ? `\r\x1b[K${line}\n` : `${line}\n`);
    this.#drawn = false;
  }

  finish(totals: ImportTotals): void {
    if (this.out.isTTY) {
      this.#draw(totals);
      this.out.write('\n');
    }
  }
}
