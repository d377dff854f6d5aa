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
    if (high === 0 && low === 0) low = 1;
    const slots = this.#slots;
    for (let i = (low >>> 0) & this.#mask; ; i = (i + 1) & this.#mask) {
      const h = slots[i * 2] as number;
      const l = slots[i * 2 + 1] as number;
      if (h === high >>> 0 && l === low >>> 0) return true;
      if (h === 0 && l === 0) return false;
    }
  }

  /** Adds the fingerprint; false when it was already there. `low` picks the slot, so it must be well mixed. */
  add(high: number, low: number): boolean {
    if (high === 0 && low === 0) low = 1;
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const added = this.#place(this.#slots, this.#mask, high >>> 0, low >>> 0);
    if (added) this.#size++;
    return added;
  }

  #place(slots: Uint32Array, mask: number, high: number, low: number): boolean {
    for (let i = low & mask; ; i = (i + 1) & mask) {
      const at = i * 2;
      const h = slots[at] as number;
      const l = slots[at + 1] as number;
      if (h === 0 && l === 0) {
        slots[at] = high;
        slots[at + 1] = low;
        return true;
      }
      if (h === high && l === low) return false;
    }
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = (this.#mask + 1) * 2;
    this.#slots = new Uint32Array(capacity * 2);
    this.#mask = capacity - 1;
    for (let at = 0; at < old.length; at += 2) {
      const h = old[at] as number;
      const l = old[at + 1] as number;
      if (h !== 0 || l !== 0) this.#place(this.#slots, this.#mask, h, l);
    }
  }
}
