import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded store is one process's: a lock file names its holder, so a second process is told who holds it
 * instead of corrupting the database. A lock left by a dead process on this host is taken over.
 */
export function lockDataDir(dataDir: string, command: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(dataDir, 'handoff.lock');
  const me: LockOwner = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          const owner = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner;
          if (owner.pid === process.pid) fs.unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner: LockOwner | undefined;
      try {
        owner = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner;
      } catch {
        owner = undefined;
      }
      if (owner && (owner.host !== me.host || isAlive(owner.pid))) {
        throw new DataDirLockedError(
          `the embedded store in ${dataDir} is in use by process ${owner.pid} on ${owner.host} ("handoff ${owner.command}", since ${owner.since}). ` +
            'The embedded store serves one process: stop that process first, or set DATABASE_URL to PostgreSQL to run several.',
        );
      }
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new DataDirLockedError(`could not lock ${lockPath}`);
}

/** The embedded default's master key: created once with mode 0600, read on every later start. */
export function readOrCreateMasterKey(dataDir: string): Buffer {
  const keyPath = path.join(dataDir, 'master.key');
  try {
    const key = Buffer.from(fs.readFileSync(keyPath, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${keyPath} does not hold a 32-byte base64 key`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const key = randomBytes(32);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(keyPath, `${key.toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    return key;
  }
}
