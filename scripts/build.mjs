// Builds the server into one ES module, packages/server/dist/handoff.mjs (git-ignored): what `npm start`, the
// `handoff` binary and the bench run. Sources through tsx cost ~110 MB more RSS (the loader thread and every
// module's transformed source and map) and a slower start; the bundle holds Handoff's own code and the SDK's,
// and imports every other package from node_modules.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const server = path.join(root, 'packages/server');
const outdir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(server, 'dist');
const { dependencies } = JSON.parse(readFileSync(path.join(server, 'package.json'), 'utf8'));

mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [path.join(server, 'src/cli/main.ts')],
  outfile: path.join(outdir, 'handoff.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The workspace SDK is bundled from its sources; everything else stays a package import.
  external: Object.keys(dependencies).filter((name) => name !== '@handoff/sdk'),
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The signing thread is loaded by URL, next to the module that starts it.
copyFileSync(path.join(server, 'src/tokens/signing-thread.mjs'), path.join(outdir, 'signing-thread.mjs'));
