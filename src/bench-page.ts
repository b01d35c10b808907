/**
 * Entry of bench.html, the page `npm run bench` drives in headless Chromium:
 * runs the shared suite on the page's main thread, on each backend by name.
 */
import './lib/engine/runtime/wasm-paths.browser';
import { benchRuntime, defaultOptions, type RuntimeReport } from '../bench/suite';
import type { BackendName } from './lib/engine/config';

declare global {
  interface Window {
    __labBench(quick: boolean, backends: BackendName[]): Promise<RuntimeReport>;
    __benchLog?(line: string): void;
  }
}

window.__labBench = (quick, backends) =>
  benchRuntime('browser', navigator.userAgent, backends, defaultOptions(quick, (line) => window.__benchLog?.(line)));
