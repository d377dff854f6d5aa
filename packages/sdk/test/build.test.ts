import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sdk = path.resolve(import.meta.dirname, '..');
const root = path.resolve(sdk, '../..');
const skip = process.env.HANDOFF_TEST_DATABASE_URL ? 'store-independent: runs in the embedded pass' : false;

// The build compiles src with the DOM library and no Node types (tsconfig.build.json), so a Node-only API in
// the SDK fails the build; the output then runs on plain Node, without tsx.
test('the SDK builds to ESM with type declarations that run on plain Node', { skip }, async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'handoff-sdk-build-'));
  try {
    await run(
      process.execPath,
      [
        path.join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        path.join(out, 'dist'),
      ],
      { cwd: sdk },
    );
    for (const file of ['index.js', 'index.d.ts', 'contract/index.js', 'contract/index.d.ts']) {
      assert.ok(existsSync(path.join(out, 'dist', file)), file);
    }
    await symlink(path.join(root, 'node_modules'), path.join(out, 'node_modules'), 'dir');
    await writeFile(
      path.join(out, 'smoke.mjs'),
      `import { createClientTokenClient, verifyClientAuthToken, createPartnerClient, permissions } from './dist/index.js';
import { ClientAuthTokenRequest } from './dist/contract/index.js';
import { computeSignature, importHmacSecret } from './dist/request-signer.js';
const key = await importHmacSecret('2mC4ZvVd4goRkuJm+rjr9byUiaUW1b6tVN4xy9QXNSE=');
const signature = await computeSignature(key, { timestamp: 1714445421, method: 'GET', path: '/accounts?account_owner=00SCXM&account_group=BBLGTW', body: undefined });
console.log(JSON.stringify({
  signature,
  functions: [createClientTokenClient, verifyClientAuthToken, createPartnerClient].map((f) => typeof f),
  permissions: permissions.length,
  schema: ClientAuthTokenRequest.type,
}));
`,
    );
    const { stdout } = await run(process.execPath, ['smoke.mjs'], { cwd: out });
    assert.deepEqual(JSON.parse(stdout), {
      signature: 'nvY/lGZoaom8x6eHeMWlzF4NnGvGA3YPtrbCmyUSplo=',
      functions: ['function', 'function', 'function'],
      permissions: 15,
      schema: 'object',
    });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
