/**
 * Runs the shared bench suite for bench.html in a Web Worker, where the lab's
 * engine runs too: our SIMD kernels share their work with helper threads
 * only where the calling thread may block, which a page's main thread may not.
 */
import './lib/engine/runtime/wasm-paths.browser';
import { benchRuntime, defaultOptions, type BenchCase, type RuntimeReport } from '../bench/suite';
import type { BackendName } from './lib/engine/config';

export interface BenchRequest {
  quick: boolean;
  backends: BackendName[];
  cases: BenchCase[];
}

export type BenchMessage = { log: string } | { report: RuntimeReport } | { error: string };

const post = (message: BenchMessage): void => self.postMessage(message);

self.onmessage = (event: MessageEvent<BenchRequest>) => {
  const { quick, backends, cases } = event.data;
  benchRuntime('browser', navigator.userAgent, backends, defaultOptions(quick, (line) => post({ log: line }), cases)).then(
    (report) => post({ report }),
    (error: unknown) => post({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
};
