/**
 * `npm run bench:pack-gpu`: packs the Node bench for a GPU machine that has
 * no network and no Node into one file, node_modules/.cache/bench-gpu.tar.xz
 * (git-ignored, so the device tool's `carry` takes it). node_modules itself
 * is ~600 MB, ten times what a carry may hold, so the archive holds only:
 *
 * - bench.mjs: bench/run.ts and everything it imports (tfjs, its wasm and
 *   webgpu backends, the engine) in one file; the browser part is left out;
 * - the tfjs wasm binaries beside it, where tfjs looks for them in Node;
 * - node_modules/webgpu: Dawn for Node, its Linux x64 build only (21 MB of
 *   the package's 132 MB);
 * - torch_reference.py, for the PyTorch reference;
 * - node: this machine's Node binary (the GPU image has none).
 *
 * xz, because gzip left it too close to the carry limit (64 MiB, working tree
 * included); Python's tarfile unpacks it where no xz is installed. The
 * command that runs it is in docs/bench.md ("On a GPU machine").
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const archive = path.join(root, 'node_modules/.cache/bench-gpu.tar.xz');
const modules = path.join(root, 'node_modules');
const out = await mkdtemp(path.join(os.tmpdir(), 'bench-gpu-'));

await mkdir(path.join(out, 'node_modules/webgpu/dist/linux-x64'), { recursive: true });

await build({
  entryPoints: [path.join(root, 'bench/run.ts')],
  outfile: path.join(out, 'bench.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Loaded only by the browser part, or (webgpu) from the folder beside the bundle.
  external: ['playwright-core', 'vite', 'webgpu'],
  // tfjs's CommonJS parts use require and __dirname (the wasm backend finds its
  // binaries through __dirname), which an ES module lacks.
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      'const require = __createRequire(import.meta.url);',
      'const __dirname = __fileURLToPath(new URL(".", import.meta.url));',
    ].join('\n'),
  },
  logLevel: 'warning',
});

const wasmDist = path.join(modules, '@tensorflow/tfjs-backend-wasm/dist');
for (const binary of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  await copyFile(path.join(wasmDist, binary), path.join(out, binary));
}
for (const file of ['package.json', 'index.js', 'dist/linux-x64/dawn.node']) {
  await copyFile(path.join(modules, 'webgpu', file), path.join(out, 'node_modules/webgpu', file));
}
await copyFile(path.join(root, 'bench/torch_reference.py'), path.join(out, 'torch_reference.py'));
await copyFile(process.execPath, path.join(out, 'node'));

await mkdir(path.dirname(archive), { recursive: true });
await promisify(execFile)('tar', ['-cJf', archive, '-C', out, '.'], { env: { ...process.env, XZ_OPT: '-6 -T0' } });
await rm(out, { recursive: true, force: true });
const { size } = await stat(archive);
console.log(`packed ${path.relative(root, archive)} (${(size / 2 ** 20).toFixed(1)} MiB; Node ${process.version})`);
