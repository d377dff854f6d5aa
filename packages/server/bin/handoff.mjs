#!/usr/bin/env node
// Runs the build (dist/handoff.mjs, from `npm run build`, which `npm ci` and `npm start` run) when it is newer than
// every source file; otherwise the TypeScript sources through tsx, so an edited tree never runs stale code.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const server = path.resolve(import.meta.dirname, '..');
const bundle = path.join(server, 'dist/handoff.mjs');
const sources = [path.join(server, 'src'), path.resolve(server, '../sdk/src')];

function newestChange(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

const built = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (built > 0 && sources.every((dir) => newestChange(dir) <= built)) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
