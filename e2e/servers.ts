/**
 * Where the specs' page is served (playwright.config.ts starts the servers).
 * LAB_PORT lets two suites run side by side on one machine.
 *
 * LAB_E2E_BUILD=1 (set by .ci/run) serves the production build (`vite build`,
 * then `vite preview`), which is what `npm run build` ships. A page load there
 * costs Chromium far less CPU than one from the dev server, which hands the
 * page tfjs unbundled (about 60 MB of scripts, 20 MB of it twice), and the
 * suite loads the page dozens of times. Without it the specs load the dev
 * server, which serves edits at once.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PORT = Number(process.env.LAB_PORT ?? 5173);
export const BUILT = process.env.LAB_E2E_BUILD === '1';
/** Outside the repository, so the tests leave `git status` clean. */
export const BUILD_DIR = path.join(tmpdir(), `lottery-lab-e2e-build-${PORT}`);
/** Beside a built page the dev server runs here too, for the specs that load or replace source modules one by one (config-url, presets). */
export const DEV_PORT = PORT + 1000;

/** The dev server's address, which serves source modules one by one (so a spec can route one): PORT unless the page is built. */
export const DEV_SERVER_URL = `http://localhost:${BUILT ? DEV_PORT : PORT}`;
