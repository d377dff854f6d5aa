/** Prints machine-readable JSON with --json, a short text for people otherwise. */
export function output(json: boolean | undefined, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(value) : human());
}
