import v8 from 'node:v8';

/** The old generation may grow to 1.5× what survives a full collection (V8's own choice is up to ~3×). */
export const heapGrowingFlag = '--heap-growing-percent=50';

/**
 * Under a steady load a server's heap holds ~32 MB of live objects, but V8 lets the old generation grow to about
 * three times that before collecting, and never hands it back: ~210 MB of RSS where ~155 MB does with this flag
 * (bench/README.md, change 19; the GC's share of the event loop 5.9% → 6.6%). V8 reads it at every full
 * collection, so it can be set from inside the process, however node was started; a value the operator gave node
 * (command line or NODE_OPTIONS) is kept. Returns the flag applied, if any.
 */
export function limitHeapGrowth(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return undefined;
  v8.setFlagsFromString(heapGrowingFlag);
  return heapGrowingFlag;
}
