/**
 * `npm run screenshots`: the README's pictures (docs/screenshots/*.png),
 * taken from real classroom presets run to completion. Only this command
 * writes them, so `npm test` leaves the tracked pictures alone.
 */
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testDir: 'scripts',
  testMatch: 'screenshots.spec.ts',
  // Full-length presets on wasm take minutes each on a 2-core CPU.
  timeout: 7_200_000,
  projects: [{ name: 'screenshots' }],
});
