/**
 * End-to-end tests of the lab page in the system Chromium (Playwright's own
 * browser download is unavailable here). Training on a 2-core CPU is slow, so
 * tests run one at a time with generous timeouts.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from './scripts/chromium';
import { BUILD_DIR, BUILT, DEV_PORT, PORT } from './e2e/servers';

function devServer(port: number) {
  return { command: `npx vite --port ${port} --strictPort`, url: `http://localhost:${port}`, reuseExistingServer: !process.env.CI, timeout: 120_000 };
}

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
  // Built (LAB_E2E_BUILD=1, see e2e/servers.ts): the build on PORT, and the dev server beside it for the specs that need it.
  webServer: BUILT
    ? [
        {
          command: `npx vite build --logLevel warn --emptyOutDir --outDir ${BUILD_DIR} && npx vite preview --outDir ${BUILD_DIR} --port ${PORT} --strictPort`,
          url: `http://localhost:${PORT}`,
          // A server already there may serve an older build.
          reuseExistingServer: false,
          timeout: 300_000,
        },
        devServer(DEV_PORT),
      ]
    : devServer(PORT),
  projects: [
    { name: 'webgpu-enabled', testIgnore: /no-webgpu\.spec\.ts/ },
    {
      // Without --enable-unsafe-webgpu; the spec also takes the adapter away, so it holds on a machine with a GPU.
      name: 'no-webgpu',
      testMatch: /no-webgpu\.spec\.ts/,
      use: {
        launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS.filter((arg) => arg !== '--enable-unsafe-webgpu') },
      },
    },
  ],
});
