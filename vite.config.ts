import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Cross-origin isolation lets the wasm backend use SharedArrayBuffer threads.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [svelte()],
  // static/ holds the favicon and, once `npm run data:cifar10` ran, the downloaded CIFAR-10 under /data/cifar10.
  publicDir: 'static',
  server: { headers: isolationHeaders, port: 5173 },
  preview: { headers: isolationHeaders, port: 4173 },
  worker: { format: 'es' },
  // The pages import tfjs only inside their workers, which the dependency
  // scan does not follow from the HTML: left to discover them at run time,
  // a cold dev server reloads the page mid-run to re-bundle.
  optimizeDeps: {
    entries: ['index.html', 'runner.html', 'bench.html', 'src/lib/worker/engine.worker.ts', 'src/bench.worker.ts'],
  },
  // Minifying breaks the threaded wasm build (its worker code is a string that
  // refers to renamed names); unminified, a built page trains on every core.
  build: { minify: false },
  test: {
    // bench/ has its own config (npm run bench:check): its smoke test runs the benchmarks.
    include: ['src/**/*.test.ts', 'experiments/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most files train on tfjs's cpu backend, which runs on one core. Vitest's
    // default of one worker fewer than the cores gave CI's 2 cores one worker,
    // so the files ran one after another (the suite's time was the sum of theirs).
    maxWorkers: availableParallelism(),
  },
});
