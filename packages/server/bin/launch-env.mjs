// The environment `handoff serve` is meant to start in, for what can only be set before a process starts.
//
// glibc raises its mmap threshold whenever a large block is freed (up to 32 MiB); from then on large blocks are
// carved from the malloc arenas, and memory freed inside an arena stays in the process. V8's compiler threads
// allocate and free such blocks while they compile (PGlite's WebAssembly above all): 20–50 MB of RSS under load on
// the embedded store. A threshold fixed at glibc's default, 128 KiB, keeps every larger block in a mapping of its
// own that goes back to the system when freed. Fixing it also fixes the trim threshold, at twice that: the arenas
// would then hand back and fault in their top pages all the time (2.8× the page faults), so it is set to 8 MiB
// (bench/README.md, change 34). Other C libraries ignore the variable.
export const mallocTunables = ['glibc.malloc.mmap_threshold=131072', 'glibc.malloc.trim_threshold=8388608'];

/** `env` with each of mallocTunables added to GLIBC_TUNABLES, unless that tunable is already set there. */
export function launchEnv(env) {
  const given = env.GLIBC_TUNABLES ? env.GLIBC_TUNABLES.split(':') : [];
  const names = new Set(given.map((tunable) => tunable.split('=')[0]));
  const added = mallocTunables.filter((tunable) => !names.has(tunable.split('=')[0]));
  return added.length === 0 ? env : { ...env, GLIBC_TUNABLES: [...given, ...added].join(':') };
}
