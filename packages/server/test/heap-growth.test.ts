import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { heapGrowingFlag, limitHeapGrowth } from '../src/cli/heap-growth.ts';

const churn = path.resolve(import.meta.dirname, 'fixtures/heap-churn.ts');

function heapAfterChurn(...args: string[]): number {
  const child = spawnSync(process.execPath, ['--import', 'tsx', churn, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return (JSON.parse(child.stdout) as { totalHeapMb: number }).totalHeapMb;
}

test('with the limit applied inside the process, the same live data needs a much smaller heap', () => {
  const unlimited = heapAfterChurn();
  const limited = heapAfterChurn('--limit');
  // Measured: ~270 MB against ~120 MB, run after run (V8's heap sizing is deterministic for one program).
  assert.ok(limited < unlimited * 0.7, `limited ${limited.toFixed(0)} MB, unlimited ${unlimited.toFixed(0)} MB`);
});

test("an operator's own heap growth setting, on the command line or in NODE_OPTIONS, is kept", () => {
  assert.equal(limitHeapGrowth(['--heap-growing-percent=20'], undefined), undefined);
  assert.equal(limitHeapGrowth([], '--max-old-space-size=512 --heap_growing_percent=30'), undefined);
  assert.equal(limitHeapGrowth(['--max-old-space-size=512'], '--enable-source-maps'), heapGrowingFlag);
});
