/**
 * Losing the training worker's GPU device from a test, as a driver reset
 * would, and holding a run at a moment of its own (its first kept round).
 * The page never sends the worker the `lose-device` message; a test keeps a
 * handle on every worker the page starts and sends it.
 */
import type { Page } from 'playwright-core';
import type { ToWorker } from '../src/lib/worker/protocol';

declare global {
  interface Window {
    __labWorkers?: Worker[];
    /** Set by `refuseNewDevices`: workers started from then on find no WebGPU adapter. */
    __labNoAdapterInNewWorkers?: boolean;
    /** Set by `loseDeviceAtFirstCheckpoint` and `pauseAtFirstCheckpoint`: when (performance.now()) their action came. */
    __labFirstCheckpointAt?: number;
    /** Set by `recordWorkers`: arms `action` on `worker`'s first checkpoint message. */
    __labOnFirstCheckpoint?: (worker: Worker, action: FirstCheckpointAction) => void;
    /** Set by `loseDeviceAtFirstCheckpointOfEveryWorker`: the action armed on every worker as it starts. */
    __labFirstCheckpointAction?: FirstCheckpointAction;
  }
}

/** Where the page fetches the shim of a worker without a WebGPU adapter (served by the test, below). */
const NO_ADAPTER_SHIM = '/__lab_test/worker-without-adapter.js';

/**
 * Keeps every worker the page starts in window.__labWorkers, and serves the
 * shim `refuseNewDevices` starts workers behind; call before the page loads.
 */
export async function recordWorkers(page: Page): Promise<void> {
  // The worker's own module behind a shim that takes its WebGPU adapter away,
  // as after a GPU crash that leaves none. Served from the page's origin, with
  // its isolation headers, so the worker resolves and fetches as the page's own.
  // Messages that arrive before the module has set its handler are handed to it after.
  await page.route(`**${NO_ADAPTER_SHIM}?*`, (route) => {
    const target = new URL(route.request().url()).searchParams.get('target')!;
    const body = `
      if (navigator.gpu) navigator.gpu.requestAdapter = async () => null;
      const early = [];
      self.onmessage = (event) => early.push(event);
      await import(${JSON.stringify(target)});
      for (const event of early) self.onmessage(event);`;
    return route.fulfill({
      status: 200,
      contentType: 'text/javascript',
      headers: { 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Opener-Policy': 'same-origin' },
      body,
    });
  });
  await page.addInitScript((shim) => {
    const workers: Worker[] = [];
    window.__labWorkers = workers;
    window.__labOnFirstCheckpoint = (worker, action) => {
      const onMessage = (event: MessageEvent): void => {
        if (event.data?.event?.type !== 'checkpoint') return;
        worker.removeEventListener('message', onMessage);
        window.__labFirstCheckpointAt = performance.now();
        if ('post' in action) worker.postMessage(action.post);
        else document.querySelector<HTMLButtonElement>(`[data-testid="${action.click}"]`)!.click();
      };
      worker.addEventListener('message', onMessage);
    };
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url: string | URL, options?: WorkerOptions) {
        const target = new URL(url, location.href).href;
        super(window.__labNoAdapterInNewWorkers ? `${shim}?target=${encodeURIComponent(target)}` : url, options);
        workers.push(this);
        if (window.__labFirstCheckpointAction) window.__labOnFirstCheckpoint!(this, window.__labFirstCheckpointAction);
      }
    };
  }, NO_ADAPTER_SHIM);
}

/** From now on, a worker the page starts finds no WebGPU adapter (so a run there falls back to wasm). */
export async function refuseNewDevices(page: Page): Promise<void> {
  await page.evaluate(() => (window.__labNoAdapterInNewWorkers = true));
}

/** What a test does when the training worker reports its first kept round: send the worker a message, or click a button of the page (by test id). */
type FirstCheckpointAction = { post: ToWorker } | { click: string };

/**
 * Arms `action` for the moment the training worker reports its first kept
 * round (a checkpoint), and returns at once. Driven by the run's own events,
 * not by how long a round takes, so the action comes mid-run on a software
 * adapter and on a fast GPU alike. The time it came is left in
 * window.__labFirstCheckpointAt.
 */
function atFirstCheckpoint(page: Page, action: FirstCheckpointAction): Promise<void> {
  return page.evaluate((act) => window.__labWorkers!.forEach((worker) => window.__labOnFirstCheckpoint!(worker, act)), action);
}

/**
 * Loses the GPU device of every worker the page will start, at that worker's
 * first kept round, as `loseDeviceAtFirstCheckpoint` does for the workers
 * already there; call after `recordWorkers`, before the page loads, where no
 * test code runs between the page starting its worker and the run (the CLI's
 * browser runtime).
 */
export async function loseDeviceAtFirstCheckpointOfEveryWorker(page: Page): Promise<void> {
  const action: FirstCheckpointAction = { post: { type: 'lose-device' } };
  await page.addInitScript((act) => {
    window.__labFirstCheckpointAction = act;
  }, action);
}

/** Loses the training worker's GPU device when it reports its first kept round (see `atFirstCheckpoint`). */
export function loseDeviceAtFirstCheckpoint(page: Page): Promise<void> {
  return atFirstCheckpoint(page, { post: { type: 'lose-device' } });
}

/**
 * Pauses the run, through the page's own Pause button, when its worker
 * reports its first kept round (see `atFirstCheckpoint`). The worker takes
 * the pause when it next lets messages in (the trainer does so at least every
 * 50 ms of training), so the run is held long before its last round.
 */
export function pauseAtFirstCheckpoint(page: Page): Promise<void> {
  return atFirstCheckpoint(page, { click: 'pause-button' });
}
