// The environment `handoff serve` is meant to start in, for what can only be set before a process starts.
//
// glibc raises its mmap threshold whenever a large block is freed (up to 32 MiB); from then on large blocks are
// carved from the malloc arenas, and memory freed inside an arena stays in the process. V8's compiler threads
// allocate and free such blocks while they compile (PGlite's WebAssembly above all): ~45 MB of RSS under load on
// the embedded store. A threshold fixed at glibc's default, 128 KiB, keeps every larger block in a mapping of its
// own that goes back to the system when freed (bench/README.md, change 34). Other C libraries ignore the variable.
export const mallocTunable = 'glibc.malloc.mmap_threshold=131072';

/** `env` with the tunable added to GLIBC_TUNABLES, unless an mmap threshold is already set there. */
export function launchEnv(env) {
  const given = env.GLIBC_TUNABLES;
  if (given?.split(':').some((tunable) => tunable.startsWith('glibc.malloc.mmap_threshold='))) return env;
  return { ...env, GLIBC_TUNABLES: given ? `${given}:${mallocTunable}` : mallocTunable };
}
