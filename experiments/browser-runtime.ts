/**
 * --runtime browser: the same engine in headless Chromium, in the page's own
 * worker, choosing the backend as the page does. A Vite server serves the
 * runner page; CIFAR files are served to it from the data folder.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { createServer } from 'vite';
import type { ExperimentConfig } from '../src/lib/engine/config';
import { ResultsSoFar, type EngineEvent, type PartialResults, type RunResults } from '../src/lib/engine/results';
import type { RunnerOutcome } from '../src/runner';
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium';
import { formatEvent } from './cli';

/** URL prefix under which the runner page fetches data files. */
const DATA_PREFIX = '/__lab_data/';

/** Test hook: reach the runner page before it loads. */
export interface BrowserHooks {
  beforeLoad?(page: Page): Promise<void>;
}

/**
 * The run's results; a run whose GPU was lost returns the rounds it
 * finished, with the reason (any other failure throws).
 */
export async function runInBrowser(
  config: ExperimentConfig,
  log: (line: string) => void,
  hooks: BrowserHooks = {},
): Promise<{ results: RunResults; ended: null } | { results: PartialResults; ended: string }> {
  const server = await createServer({ logLevel: 'error', server: { port: 0, strictPort: false } });
  await server.listen();
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  try {
    const origin = server.resolvedUrls!.local[0];
    const page = await browser.newPage();
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
    if (config.data.dir) {
      const dir = path.resolve(config.data.dir);
      await page.route(`**${DATA_PREFIX}**`, async (route) => {
        const name = decodeURIComponent(new URL(route.request().url()).pathname.slice(DATA_PREFIX.length));
        if (name.includes('..')) return route.fulfill({ status: 403 });
        try {
          await route.fulfill({ status: 200, body: await readFile(path.join(dir, name)), headers: { 'Cross-Origin-Resource-Policy': 'same-origin' } });
        } catch {
          await route.fulfill({ status: 404, body: `not found: ${name}` });
        }
      });
    }
    const soFar = new ResultsSoFar(config);
    await page.exposeFunction('__labEvent', (event: EngineEvent) => {
      soFar.record(event);
      const line = formatEvent(event);
      if (line) log(line);
    });
    await hooks.beforeLoad?.(page);
    await page.goto(new URL('runner.html', origin).href);
    const outcome: RunnerOutcome = await page.evaluate(
      ({ config, prefix }) => window.__labRun(config, config.data.dir ? prefix : null),
      { config, prefix: DATA_PREFIX },
    );
    if (outcome.results) return { results: outcome.results, ended: null };
    if (outcome.error.kind !== 'device-lost') throw new Error(outcome.error.message);
    return { results: soFar.ended(outcome.error), ended: outcome.error.message };
  } finally {
    await browser.close();
    await server.close();
  }
}
