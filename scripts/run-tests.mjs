// Runs every package's tests with node's test runner (TypeScript through tsx). Files: packages/*/test/**/*.test.ts
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.test.ts')) files.push(path.relative(root, full));
  }
};
for (const pkg of readdirSync(path.join(root, 'packages'))) {
  const testDir = path.join(root, 'packages', pkg, 'test');
  try {
    walk(testDir);
  } catch {
    // A package without tests.
  }
}
// Filter by substring: `npm test -- client-auth` runs only matching files.
const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.HANDOFF_TEST_CONCURRENCY ?? 2}`,
    ...selected.sort(),
  ],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
