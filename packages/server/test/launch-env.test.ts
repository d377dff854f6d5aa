import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { launchEnv, mallocTunable } from '../bin/launch-env.mjs';
import { startServe, tempDataDir } from './subprocess.ts';

describe('the launch environment', () => {
  test('adds the mmap threshold to GLIBC_TUNABLES, keeping what the operator set', () => {
    assert.equal(launchEnv({}).GLIBC_TUNABLES, mallocTunable);
    assert.equal(
      launchEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES,
      `glibc.malloc.arena_max=2:${mallocTunable}`,
    );
    const own = 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536';
    assert.equal(launchEnv({ GLIBC_TUNABLES: own }).GLIBC_TUNABLES, own);
    assert.equal(launchEnv({ PATH: '/bin' }).PATH, '/bin');
  });

  const linux = process.platform === 'linux';
  describe('npm start', { skip: linux ? false : 'reads /proc' }, () => {
    const data = tempDataDir();
    after(() => data.remove());

    test('runs the server with it; Ctrl-C stops the server cleanly and the launcher exits with its code', async () => {
      const server = await startServe({ HANDOFF_DATA_DIR: data.dir }, { launcher: true });
      const launcher = server.child.pid as number;
      try {
        await server.waitHealthy(60_000);
        const [serve] = readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim().split(' ');
        const environ = readFileSync(`/proc/${serve}/environ`, 'utf8').split('\0');
        assert.ok(environ.includes(`GLIBC_TUNABLES=${mallocTunable}`), environ.join('\n'));

        // A terminal's Ctrl-C: SIGINT to the process group, so the server gets it twice (once passed on).
        const exited = new Promise<number | null>((resolve) => server.child.on('exit', (code) => resolve(code)));
        process.kill(-launcher, 'SIGINT');
        assert.equal(await exited, 0, server.output());
        const logs = server
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => (JSON.parse(line) as { msg: string }).msg);
        assert.equal(logs.at(-1), 'stopped', server.output());
        assert.throws(() => process.kill(Number(serve), 0), { code: 'ESRCH' });
      } finally {
        await server.stop();
      }
    });
  });
});
