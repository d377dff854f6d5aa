import type { Redis } from 'ioredis';

const held = new WeakSet<object>();

/**
 * Holds the connection's writes until this turn of the event loop ends, so the commands of every request handled in
 * the turn leave in one `writev` (bench/README.md, change 29). This is what ioredis's auto-pipelining did for us,
 * without its pipeline objects: with them the GC promoted ~500 KB of each scavenge's survivors to the old
 * generation (an isolated loop of our admission script: 2.4 MB against 70 KB without pipelines), and paid for it
 * in full collections and their pauses. Replies are matched to commands in order either way.
 */
export function holdWritesForTurn(redis: Redis): void {
  // Not connected (yet, or any more): the command fails or queues on its own, nothing to hold.
  const socket = redis.stream;
  if (!socket || held.has(socket)) return;
  held.add(socket);
  socket.cork();
  setImmediate(() => {
    held.delete(socket);
    socket.uncork();
  });
}
