/**
 * Entry of bench.html, the page `npm run bench` drives in headless Chromium:
 * runs the shared suite in a worker (src/bench.worker.ts), on each backend
 * by name, and hands back its report.
 */
import type { BenchCase, RuntimeReport } from '../bench/suite';
import type { BenchMessage, BenchRequest } from './bench.worker';
import type { BackendName } from './lib/engine/config';

declare global {
  interface Window {
    __labBench(quick: boolean, backends: BackendName[], cases: BenchCase[]): Promise<RuntimeReport>;
    __benchLog?(line: string): void;
  }
}

window.__labBench = (quick, backends, cases) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<BenchMessage>) => {
      const message = event.data;
      if ('log' in message) {
        window.__benchLog?.(message.log);
        return;
      }
      worker.terminate();
      if ('report' in message) resolve(message.report);
      else reject(new Error(message.error));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`The bench worker failed: ${event.message || 'it could not be loaded'}`));
    };
    const request: BenchRequest = { quick, backends, cases };
    worker.postMessage(request);
  });
