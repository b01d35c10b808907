/**
 * Helper threads for our SIMD kernels: each holds an instance of the
 * shared-memory build of kernels.c on the same WebAssembly.Memory, and runs
 * one export on its slice of a call (a share of the batch or of the rows)
 * while the calling thread runs the first slice.
 *
 * The calling thread blocks in Atomics.wait until every slice is done, so
 * this needs a thread where that is allowed: a Web Worker (the lab's engine
 * runs in one) or Node, never a page's main thread.
 *
 * Handshake, in Int32 words of the shared memory at `controlAt`:
 *   [0] generation: bumped once per call; a helper serves each value once
 *       (a wake-up may come after it already served the call);
 *   [1] done: helpers add 1 when their slice is finished;
 *   then one slot per helper: export index, argument count, arguments.
 *   A helper whose slice threw (a wasm trap) overwrites its export index
 *   with FAILED before counting itself done.
 */

/** The exports a slice may run, by index in a slot. */
export const SLICE_EXPORTS = [
  'conv2d',
  'conv2d_bias_relu',
  'conv2d_backprop_filter',
  'matmul',
  'max_pool_backprop',
  'conv2d_padded_channels',
  'conv2d_backprop_filter_padded_channels',
  'pad_images',
  'conv2d_gradients',
] as const;
export type SliceExport = (typeof SLICE_EXPORTS)[number];

export interface Slice {
  fn: SliceExport;
  args: number[];
}

/**
 * How long either side of a call watches the control block before it
 * sleeps in Atomics.wait: a call's slices end close together, and shared
 * calls can follow each other closely (a convolution's padding pass, then
 * the convolution), while a thread that slept must be woken and scheduled
 * again, which takes tens of µs on an idle machine and milliseconds on a
 * busy one. Watching costs at most this much CPU per call.
 */
export const SPIN_MS = 0.05;

/** Indices of the handshake's words in the control block (above). */
export const GENERATION = 0;
export const DONE = 1;
/** The export index a helper leaves in its slot when its slice threw. */
const FAILED = -1;
const MAX_ARGS = 16;
const SLOT_WORDS = 2 + MAX_ARGS;

/** Bytes of the control block for `threads` threads in all. */
export function controlBytes(threads: number): number {
  return 4 * (2 + SLOT_WORDS * Math.max(0, threads - 1));
}

/**
 * The helper's whole program, started from source text so that it needs no
 * file of its own in Node or in a bundle. It receives the module, the
 * memory and its slot once, then serves calls until the process ends.
 */
const HELPER_SOURCE = `
const EXPORTS = ${JSON.stringify(SLICE_EXPORTS)};
function serve({ module, memory, controlAt, slot }, reply) {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  reply('ready');
  // The control block lies below every growth of the memory, so this view stays valid.
  const words = new Int32Array(memory.buffer, controlAt);
  const base = ${2} + slot * ${SLOT_WORDS};
  let seen = 0;
  for (;;) {
    // A wake-up is not a call: the caller publishes a call, then wakes us, and
    // if it is descheduled in between we may see the call, serve it and wait
    // again before its wake-up comes. Serve each generation once.
    let generation;
    const watchUntil = performance.now() + ${SPIN_MS};
    while ((generation = Atomics.load(words, ${GENERATION})) === seen && performance.now() < watchUntil);
    while ((generation = Atomics.load(words, ${GENERATION})) === seen) Atomics.wait(words, ${GENERATION}, seen);
    seen = generation;
    const args = Array.from(words.subarray(base + 2, base + 2 + words[base + 1]));
    // A slice that traps must still be counted done, or the caller would wait forever; the caller reads the mark.
    try {
      exports[EXPORTS[words[base]]](...args);
    } catch {
      Atomics.store(words, base, ${FAILED});
    }
    Atomics.add(words, ${DONE}, 1);
    Atomics.notify(words, ${DONE});
  }
}
if (typeof require === 'function') {
  const port = require('node:worker_threads').parentPort;
  port.once('message', (message) => serve(message, (reply) => port.postMessage(reply)));
} else {
  self.onmessage = (event) => serve(event.data, (reply) => self.postMessage(reply));
}
`;

/** A started helper: `setUp` hands it its slot and resolves once it serves calls. */
interface Helper {
  setUp(message: unknown): Promise<void>;
  stop(): void;
}

interface NodeWorker {
  postMessage(message: unknown): void;
  once(event: 'message' | 'error', listener: (value: unknown) => void): void;
  unref(): void;
  terminate(): void;
}

type NodeWorkerThreads = { Worker: new (source: string, options: { eval: true }) => NodeWorker };

async function startHelper(): Promise<Helper> {
  if (typeof Worker === 'function') {
    const url = URL.createObjectURL(new Blob([HELPER_SOURCE], { type: 'text/javascript' }));
    const worker = new Worker(url);
    return {
      setUp: (message) =>
        new Promise((resolve, reject) => {
          worker.onmessage = () => resolve();
          worker.onerror = (event) => reject(new Error(event.message || 'the helper thread failed to start'));
          worker.postMessage(message);
        }),
      stop: () => worker.terminate(),
    };
  }
  // Node: a variable specifier keeps bundlers from resolving a Node module for the browser.
  const specifier = 'node:worker_threads';
  const threads = (await import(/* @vite-ignore */ specifier)) as NodeWorkerThreads;
  const worker = new threads.Worker(HELPER_SOURCE, { eval: true });
  worker.unref(); // idle helpers must not keep Node alive
  return {
    setUp: (message) =>
      new Promise((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', (error) => reject(error instanceof Error ? error : new Error(String(error))));
        worker.postMessage(message);
      }),
    stop: () => void worker.terminate(),
  };
}

/** How long a helper may take to start before we do without helpers. */
const START_TIMEOUT_MS = 20_000;

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a helper thread did not start within ${ms} ms`)), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Whether this thread may block in Atomics.wait (not a page's main thread). */
export function canBlock(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class KernelThreads {
  private readonly words: Int32Array;

  private constructor(
    memory: WebAssembly.Memory,
    controlAt: number,
    readonly size: number,
    private readonly runHere: (slice: Slice) => void,
  ) {
    this.words = new Int32Array(memory.buffer, controlAt, controlBytes(size) / 4);
  }

  /**
   * Starts `size − 1` helpers on `memory` (shared), whose control block
   * starts at `controlAt`; `runHere` runs a slice on the calling thread.
   * Resolves only once every helper serves calls: a browser starts a
   * worker's thread through its creator's event loop, so blocking in the
   * first call before that would wait forever. Rejects (stopping any that
   * did start) if one fails to start.
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    controlAt: number,
    size: number,
    runHere: (slice: Slice) => void,
  ): Promise<KernelThreads> {
    const helpers: Helper[] = [];
    try {
      for (let slot = 0; slot < size - 1; slot++) {
        const helper = await startHelper();
        helpers.push(helper);
        await withTimeout(helper.setUp({ module, memory, controlAt, slot }), START_TIMEOUT_MS);
      }
    } catch (error) {
      for (const helper of helpers) helper.stop();
      throw error;
    }
    return new KernelThreads(memory, controlAt, size, runHere);
  }

  /**
   * Runs slices[0] here and the rest on helpers; returns when all are done.
   * Every helper wakes on each call, so there must be exactly one slice per
   * thread (an empty share is a slice with a zero count).
   */
  run(slices: Slice[]): void {
    if (slices.length !== this.size) throw new Error(`${slices.length} slices for ${this.size} threads`);
    const helpers = slices.length - 1;
    for (let i = 0; i < helpers; i++) {
      const { fn, args } = slices[i + 1]!;
      if (args.length > MAX_ARGS) throw new Error(`${fn}: more than ${MAX_ARGS} arguments`);
      const base = 2 + i * SLOT_WORDS;
      this.words[base] = SLICE_EXPORTS.indexOf(fn);
      this.words[base + 1] = args.length;
      this.words.set(args, base + 2);
    }
    if (helpers > 0) {
      Atomics.store(this.words, DONE, 0);
      Atomics.add(this.words, GENERATION, 1);
      Atomics.notify(this.words, GENERATION);
    }
    // Even if this thread's slice throws, the helpers' slices must end
    // before the caller reuses their memory for another call.
    let failedHere: unknown = null;
    try {
      this.runHere(slices[0]!);
    } catch (error) {
      failedHere = error;
    }
    const watchUntil = performance.now() + SPIN_MS;
    while (Atomics.load(this.words, DONE) < helpers && performance.now() < watchUntil);
    for (let done = Atomics.load(this.words, DONE); done < helpers; done = Atomics.load(this.words, DONE)) {
      Atomics.wait(this.words, DONE, done);
    }
    if (failedHere != null) throw failedHere;
    for (let i = 0; i < helpers; i++) {
      if (Atomics.load(this.words, 2 + i * SLOT_WORDS) === FAILED) {
        throw new Error(`our SIMD kernel ${slices[i + 1]!.fn} failed on a helper thread (a wasm trap, e.g. an address out of bounds)`);
      }
    }
  }
}
