/**
 * `npm run bench:check`: the benchmark suite's smoke test, kept out of
 * `npm run test:unit` because it runs the benchmarks themselves.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['bench/**/*.test.ts'],
    environment: 'node',
    testTimeout: 600_000,
    pool: 'forks',
  },
});
