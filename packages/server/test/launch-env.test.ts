import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { launchEnv, mallocTunables } from '../bin/launch-env.mjs';
import { startServe, tempDataDir } from './subprocess.ts';

describe('the launch environment', () => {
  test('adds the malloc thresholds to GLIBC_TUNABLES, keeping what the operator set', () => {
    const ours = mallocTunables.join(':');
    assert.equal(launchEnv({}).GLIBC_TUNABLES, ours);
    assert.equal(
      launchEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES,
      `glibc.malloc.arena_max=2:${ours}`,
    );
    assert.equal(
      launchEnv({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' }).GLIBC_TUNABLES,
      'glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=8388608',
    );
    const own = 'glibc.malloc.trim_threshold=1048576:glibc.malloc.mmap_threshold=65536';
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
        // glibc ends the string after the first tunable as it parses it in place (each still applies), so the
        // process shows all of ours or, on such a glibc, the first.
        const tunables = environ.find((entry) => entry.startsWith('GLIBC_TUNABLES='));
        assert.ok(
          [mallocTunables.join(':'), mallocTunables[0]].includes(tunables?.slice('GLIBC_TUNABLES='.length)),
          environ.join('\n'),
        );

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
