/**
 * End-to-end tests of the lab page in the system Chromium (Playwright's own
 * browser download is unavailable here). Training on a 2-core CPU is slow, so
 * tests run one at a time with generous timeouts.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from './scripts/chromium';

// LAB_PORT lets two suites run side by side on one machine.
const PORT = Number(process.env.LAB_PORT ?? 5173);

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  timeout: 240_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${PORT}`,
    browserName: 'chromium',
    launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS },
  },
  webServer: {
    command: `npx vite --port ${PORT} --strictPort`,
    url: `http://localhost:${PORT}`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
  projects: [
    { name: 'webgpu-enabled', testIgnore: /no-webgpu\.spec\.ts/ },
    {
      // Without --enable-unsafe-webgpu this Chromium finds no WebGPU adapter at all.
      name: 'no-webgpu',
      testMatch: /no-webgpu\.spec\.ts/,
      use: {
        launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS.filter((arg) => arg !== '--enable-unsafe-webgpu') },
      },
    },
  ],
});
