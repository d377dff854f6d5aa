/**
 * A set of 64-bit fingerprints in one typed array (open addressing, linear probing, load ≤ 1/2): no object per
 * entry, so a million entries are ~16 MB outside the V8 heap and nothing for the garbage collector to trace.
 * A fingerprint is two 32-bit halves; (0, 0) marks an empty slot and is stored as (0, 1).
 */
export class FingerprintSet {
  #slots: Uint32Array;
  #mask: number;
  #size = 0;

  constructor(capacity = 1024) {
    this.#slots = new Uint32Array(capacity * 2);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  has(high: number, low: number): boolean {
    const at = probe(this.#slots, this.#mask, high >>> 0, stored(high, low));
    return this.#slots[at] !== 0 || this.#slots[at + 1] !== 0;
  }

  /** Adds the fingerprint; false when it was already there. `low` picks the slot, so it must be well mixed. */
  add(high: number, low: number): boolean {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const added = place(this.#slots, this.#mask, high >>> 0, stored(high, low));
    if (added) this.#size++;
    return added;
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = (this.#mask + 1) * 2;
    this.#slots = new Uint32Array(capacity * 2);
    this.#mask = capacity - 1;
    for (let at = 0; at < old.length; at += 2) {
      const h = old[at] as number;
      const l = old[at + 1] as number;
      if (h !== 0 || l !== 0) place(this.#slots, this.#mask, h, l);
    }
  }
}

/** The low half as stored: unsigned, and never (0, 0) with a zero high half. */
const stored = (high: number, low: number) => (high === 0 && low === 0 ? 1 : low >>> 0);

/** Index of the fingerprint's slot, or of the empty slot where it would go. */
function probe(slots: Uint32Array, mask: number, high: number, low: number): number {
  for (let i = low & mask; ; i = (i + 1) & mask) {
    const at = i * 2;
    const h = slots[at] as number;
    const l = slots[at + 1] as number;
    if ((h === high && l === low) || (h === 0 && l === 0)) return at;
  }
}

/** Writes the fingerprint into its slot; false when it was there already. */
function place(slots: Uint32Array, mask: number, high: number, low: number): boolean {
  const at = probe(slots, mask, high, low);
  if (slots[at] !== 0 || slots[at + 1] !== 0) return false;
  slots[at] = high;
  slots[at + 1] = low;
  return true;
}
