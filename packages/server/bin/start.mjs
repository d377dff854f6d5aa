#!/usr/bin/env node
// `npm start`: `handoff serve` in a child process started with launchEnv's settings, which glibc reads only when a
// process starts. Signals are passed on; the exit code is the server's.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { launchEnv } from './launch-env.mjs';

const server = spawn(process.execPath, [path.join(import.meta.dirname, 'handoff.mjs'), 'serve'], {
  env: launchEnv(process.env),
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
