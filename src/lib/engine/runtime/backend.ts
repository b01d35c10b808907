/**
 * Chooses and initialises the TensorFlow.js backend, the same way in a page,
 * a Web Worker and Node.
 *
 * This module imports nothing bundler-specific, so `npx tsx` scripts can use
 * it. In a browser the wasm binaries must be served by Vite: the small
 * `wasm-paths.browser.ts` module imports their URLs with `?url` and hands
 * them to `setWasmBinaryUrls` below; import it once, before `initBackend`,
 * in the worker or page that trains.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName, BackendRequest } from '../config';
import { autoBackendFor } from './backend-policy';
import { loadSimdKernels, simdKernels } from './simd/simd-kernels';
import { registerWasmTrainingKernels } from './wasm-kernels';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  /** A CPU rasteriser (SwiftShader, llvmpipe, …) rather than a GPU. */
  software: boolean;
}

export interface BackendInfo {
  backend: BackendName;
  /** The WebGPU adapter that was examined, or null when there was none (or none was asked for). */
  adapter: AdapterInfo | null;
  /** One plain sentence when the backend is not the one expected; null otherwise. */
  notice: string | null;
  /** Threads the wasm backend trains on (XNNPACK's or our SIMD kernels', whichever are more); null for other backends. */
  threads: number | null;
  /** Whether the wasm backend runs its SIMD binary; null for other backends. */
  simd: boolean | null;
}

/** The WebGPU adapter fields we read, whether on `adapter.info` or the older `requestAdapterInfo()`. */
export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
  device?: string;
  isFallbackAdapter?: boolean;
}

interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  /** Older browsers put the flag on the adapter itself. */
  isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<GpuAdapterInfoLike>;
}

/** The part of `navigator.gpu` we use; keeps this module free of @webgpu/types. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

export type WasmBinaryName =
  | 'tfjs-backend-wasm.wasm'
  | 'tfjs-backend-wasm-simd.wasm'
  | 'tfjs-backend-wasm-threaded-simd.wasm';

/** Where to fetch each wasm binary from; tfjs picks one by SIMD and thread support. */
export type WasmBinaryUrls = Record<WasmBinaryName, string>;

/** Names in adapter info that mean a CPU implementation of WebGPU. */
const SOFTWARE_RENDERER_NAMES = ['swiftshader', 'llvmpipe', 'lavapipe', 'softpipe', 'basic render driver'];

/** After WebGPU, in order of training speed on a typical machine. */
const FALLBACK_CHAIN: readonly BackendName[] = ['wasm', 'webgl', 'cpu'];

/** True when the adapter is a software rasteriser, where the wasm backend trains faster. */
export function isSoftwareAdapter(info: GpuAdapterInfoLike): boolean {
  if (info.isFallbackAdapter === true) return true;
  const text = [info.vendor, info.architecture, info.description, info.device]
    .filter((part): part is string => typeof part === 'string')
    .join(' ')
    .toLowerCase();
  return SOFTWARE_RENDERER_NAMES.some((name) => text.includes(name));
}

/** Normalises raw adapter info; `adapterFlag` is the adapter-level isFallbackAdapter of older browsers. */
export function toAdapterInfo(raw: GpuAdapterInfoLike, adapterFlag = false): AdapterInfo {
  const isFallbackAdapter = raw.isFallbackAdapter === true || adapterFlag;
  return {
    vendor: raw.vendor ?? '',
    architecture: raw.architecture ?? '',
    description: raw.description ?? '',
    isFallbackAdapter,
    software: isSoftwareAdapter({ ...raw, isFallbackAdapter }),
  };
}

/** Asks for the adapter the webgpu backend would get; null when there is none. */
export async function probeWebGpuAdapter(gpu: GpuLike): Promise<AdapterInfo | null> {
  let adapter: GpuAdapterLike | null;
  try {
    // tfjs-backend-webgpu asks for high-performance too, so we see the same adapter.
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    return null;
  }
  if (adapter == null) return null;
  let raw: GpuAdapterInfoLike = adapter.info ?? {};
  if (adapter.info == null && typeof adapter.requestAdapterInfo === 'function') {
    raw = await adapter.requestAdapterInfo().catch(() => ({}));
  }
  return toAdapterInfo(raw, adapter.isFallbackAdapter === true);
}

function navigatorGpu(): GpuLike | null {
  const scope = globalThis as { navigator?: { gpu?: GpuLike } };
  return scope.navigator?.gpu ?? null;
}

function isNodeRuntime(): boolean {
  const scope = globalThis as { process?: { versions?: { node?: string } } };
  return typeof scope.process?.versions?.node === 'string';
}

let wasmBinaryUrls: WasmBinaryUrls | null = null;

/**
 * Threads for our SIMD kernels: in a browser as many as XNNPACK has (one
 * per core where the page is cross-origin isolated, else one). tfjs gives
 * XNNPACK no threads in Node, but our kernels' helpers work there, so
 * there they take every core.
 */
async function simdKernelThreads(): Promise<number> {
  if (!isNodeRuntime()) return getThreadsCount();
  // A variable specifier keeps bundlers from resolving a Node module for the browser.
  const specifier = 'node:os';
  const os = (await import(/* @vite-ignore */ specifier)) as { availableParallelism(): number };
  return os.availableParallelism();
}

/**
 * Tells tfjs where the wasm binaries are. Must run before the wasm backend
 * first initialises; in Node it is not needed (tfjs finds them next to its
 * own file).
 */
export function setWasmBinaryUrls(urls: WasmBinaryUrls): void {
  setWasmPaths(urls);
  wasmBinaryUrls = urls;
}

/** The URLs given to setWasmBinaryUrls, or null when tfjs looks up the files itself. */
export function getWasmBinaryUrls(): WasmBinaryUrls | null {
  return wasmBinaryUrls;
}

type ThreadScope = { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };

/** Logical cores when wasm threads are possible, else null. */
function wasmThreadCores(): number | null {
  // Threads need SharedArrayBuffer, which a browser grants only to
  // cross-origin-isolated pages and workers (and tfjs never threads in Node).
  const scope = globalThis as ThreadScope;
  const cores = scope.navigator?.hardwareConcurrency;
  return scope.crossOriginIsolated === true && typeof cores === 'number' && cores > 0 ? cores : null;
}

/**
 * Makes `navigator.hardwareConcurrency` read `value` until the returned
 * function is called; a no-op where the property cannot be redefined.
 */
function presentHardwareConcurrency(value: number): () => void {
  const navigatorObject = (globalThis as ThreadScope).navigator as object;
  const own = Object.getOwnPropertyDescriptor(navigatorObject, 'hardwareConcurrency');
  try {
    Object.defineProperty(navigatorObject, 'hardwareConcurrency', { value, configurable: true });
  } catch {
    return () => {};
  }
  return () => {
    if (own) Object.defineProperty(navigatorObject, 'hardwareConcurrency', own);
    else delete (navigatorObject as { hardwareConcurrency?: number }).hardwareConcurrency;
  };
}

/**
 * tfjs starts each wasm pthread from the source text of its bundled
 * emscripten factory (`factory.toString()` in a Blob). A minifier that
 * mangles names or drops its `typeof _scriptDir` guard leaves that text
 * pointing at variables that only exist in the bundle's scope, so every
 * thread dies with a ReferenceError and the backend never starts. Vite's
 * default production minification does exactly that; dev builds do not.
 */
async function threadedFactorySurvivedBundling(): Promise<boolean> {
  try {
    const loaded: { default?: unknown } = await import(
      '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js'
    );
    const factory = loaded.default ?? loaded;
    return typeof factory === 'function' && /typeof _scriptDir\s*!==?\s*["'`]undefined/.test(String(factory));
  } catch {
    return false;
  }
}

let wasmStarted = false;

/**
 * Starts the wasm backend with one XNNPACK thread per logical core where
 * threads are possible. tfjs-backend-wasm 4.22 sizes its pool from
 * setThreadsCount (read when the backend is constructed) but then caps it at
 * hardwareConcurrency / 2, read once when the wasm module starts — so on a
 * 2-core machine asking for 2 threads still gives 1. Training has the cores
 * to itself, so during start-up only we present twice the real count, which
 * lifts the cap to the real count (tfjs still caps at 8).
 */
async function setWasmBackend(): Promise<boolean> {
  const cores = wasmThreadCores();
  if (cores == null || wasmStarted) return (wasmStarted = await tf.setBackend('wasm'));
  if (!(await threadedFactorySurvivedBundling())) {
    console.warn(
      'The threaded wasm build was mangled by minification, so wasm runs single-threaded ' +
        '(build with minification that keeps the tfjs wasm factory intact to get threads).',
    );
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return (wasmStarted = await tf.setBackend('wasm'));
  }
  setThreadsCount(cores);
  const restore = presentHardwareConcurrency(cores * 2);
  try {
    return (wasmStarted = await tf.setBackend('wasm'));
  } finally {
    restore();
  }
}

let webGpuBackendLoaded: Promise<boolean> | null = null;

/**
 * Loads tfjs-backend-webgpu on first use only, and only where WebGPU exists:
 * in Node, only once something (the bench, with Dawn) has set navigator.gpu,
 * since the backend registers itself only if navigator.gpu exists at import.
 */
function loadWebGpuBackend(): Promise<boolean> {
  if (navigatorGpu() == null) return Promise.resolve(false);
  webGpuBackendLoaded ??= import('@tensorflow/tfjs-backend-webgpu').then(
    () => true,
    () => false,
  );
  return webGpuBackendLoaded;
}

/** Sets the backend if it initialises; false (never a throw) otherwise. */
async function trySetBackend(name: BackendName): Promise<boolean> {
  try {
    if (name === 'webgpu' && !(await loadWebGpuBackend())) return false;
    if (tf.findBackendFactory(name) == null) return false;
    if (name === 'wasm') registerWasmTrainingKernels();
    const started = name === 'wasm' ? await setWasmBackend() : await tf.setBackend(name);
    if (started && name === 'wasm') await loadSimdKernels(await simdKernelThreads());
    return started && tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function firstWorking(candidates: readonly BackendName[]): Promise<BackendName> {
  for (const name of candidates) {
    if (await trySetBackend(name)) return name;
  }
  throw new Error(`No TensorFlow.js backend could be initialised (tried ${candidates.join(', ')}).`);
}

async function describe(backend: BackendName, adapter: AdapterInfo | null, notice: string | null): Promise<BackendInfo> {
  if (backend !== 'wasm') return { backend, adapter, notice, threads: null, simd: null };
  let threads: number | null;
  try {
    // Most of a training step runs on whichever pool is larger.
    threads = Math.max(getThreadsCount(), simdKernels()?.threadCount ?? 1);
  } catch {
    threads = null;
  }
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  return { backend, adapter, notice, threads, simd };
}

let adapterProbe: Promise<AdapterInfo | null> | null = null;

/** The adapter is looked up once per runtime; it does not change under a running page. */
function cachedAdapter(gpu: GpuLike): Promise<AdapterInfo | null> {
  adapterProbe ??= probeWebGpuAdapter(gpu);
  return adapterProbe;
}

async function initAuto(): Promise<BackendInfo> {
  const gpu = navigatorGpu();
  if (gpu == null) {
    const used = await firstWorking(FALLBACK_CHAIN);
    if (isNodeRuntime()) {
      // Node has no WebGPU by design, so wasm there is the plan, not a fallback.
      const notice = used === 'wasm' ? null : `The wasm backend could not start, so training runs on ${used} instead.`;
      return describe(used, null, notice);
    }
    return describe(used, null, `WebGPU is not available in this browser (no navigator.gpu), so training runs on ${used} instead.`);
  }
  const adapter = await cachedAdapter(gpu);
  if (adapter == null) {
    const used = await firstWorking(FALLBACK_CHAIN);
    return describe(used, null, `WebGPU is not available in this browser (no adapter), so training runs on ${used} instead.`);
  }
  if (autoBackendFor(adapter) === 'webgpu') {
    if (await trySetBackend('webgpu')) return describe('webgpu', adapter, null);
    const used = await firstWorking(FALLBACK_CHAIN);
    return describe(
      used,
      adapter,
      `WebGPU found a GPU adapter but the webgpu backend failed to start, so training runs on ${used} instead.`,
    );
  }
  // A software adapter: start webgpu once so its working is proven and the
  // adapter reported, then train on wasm, which is faster on the CPU than a
  // CPU-emulated GPU. This is the expected path, so there is no notice.
  await trySetBackend('webgpu');
  const used = await firstWorking(FALLBACK_CHAIN);
  return describe(used, adapter, null);
}

async function initForced(request: BackendName): Promise<BackendInfo> {
  let adapter: AdapterInfo | null = null;
  let reason = '';
  if (request === 'webgpu') {
    const gpu = navigatorGpu();
    if (gpu == null) {
      reason = isNodeRuntime() ? ' (Node has no WebGPU)' : ' (this browser has no WebGPU)';
    } else {
      adapter = await cachedAdapter(gpu);
      if (adapter == null) reason = ' (no WebGPU adapter)';
    }
  }
  if (reason === '' && (await trySetBackend(request))) return describe(request, adapter, null);
  const used = await firstWorking(FALLBACK_CHAIN.filter((name) => name !== request));
  return describe(
    used,
    adapter,
    `The ${request} backend was requested but could not start${reason}, so training runs on ${used} instead.`,
  );
}

/**
 * Initialises the backend for a request and says what was chosen and why.
 * 'auto' trains on WebGPU when the adapter is real hardware and on wasm
 * otherwise; a named backend is used when it starts, else the chain
 * wasm → webgl → cpu is walked and `notice` says so.
 */
export async function initBackend(request: BackendRequest): Promise<BackendInfo> {
  const info = request === 'auto' ? await initAuto() : await initForced(request);
  await tf.ready();
  return info;
}
