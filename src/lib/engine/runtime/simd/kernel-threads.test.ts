import { describe, expect, it } from 'vitest';
import { controlBytes, DONE, GENERATION, KernelThreads } from './kernel-threads';
import { SIMD_KERNELS_SHARED_WASM_BASE64 } from './kernels-wasm';

type Matmul = (a: number, b: number, c: number, m: number, k: number, n: number) => void;

/** Blocks this thread for about `ms` (Node's main thread may wait on a SharedArrayBuffer). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function startTwoThreads(runHere?: (args: number[]) => void) {
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 32768, shared: true });
  const module = await WebAssembly.compile(Buffer.from(SIMD_KERNELS_SHARED_WASM_BASE64, 'base64'));
  const exports = (await WebAssembly.instantiate(module, { env: { memory } })).exports as unknown as { __heap_base: WebAssembly.Global; matmul: Matmul };
  const controlAt = exports.__heap_base.value as number;
  const threads = await KernelThreads.start(module, memory, controlAt, 2, ({ args }) =>
    runHere ? runHere(args) : exports.matmul(...(args as Parameters<Matmul>)),
  );
  const words = new Int32Array(memory.buffer, controlAt, controlBytes(2) / 4);
  return { memory, controlAt, threads, words, operandsAt: controlAt + controlBytes(2) + 64 };
}

describe('kernel threads', () => {
  it('report a slice that traps on a helper instead of waiting for it forever, and keep serving', async () => {
    const { memory, threads, operandsAt } = await startTwoThreads();
    const [m, k, n] = [4, 8, 8];
    const [aAt, bAt, cAt] = [operandsAt, operandsAt + m * k * 4, operandsAt + (m + n) * k * 4];
    new Float32Array(memory.buffer, aAt, m * k).fill(2);
    new Float32Array(memory.buffer, bAt, k * n).fill(1);
    const beyondMemory = memory.buffer.byteLength;
    const idle = { fn: 'matmul' as const, args: [aAt, bAt, cAt, 0, k, n] };
    expect(() => threads.run([idle, { fn: 'matmul', args: [aAt, bAt, beyondMemory, m, k, n] }])).toThrow(/matmul failed on a helper thread/);
    threads.run([idle, { fn: 'matmul', args: [aAt, bAt, cAt, m, k, n] }]);
    expect(new Float32Array(memory.buffer, cAt, m * n).every((value) => value === 2 * k)).toBe(true);
  });

  it("wait for the helpers' slices before passing on an error of the calling thread's slice", async () => {
    const failure = new Error('the calling thread failed');
    const { memory, threads, words, operandsAt } = await startTwoThreads(() => {
      throw failure;
    });
    const [m, k, n] = [64, 1024, 256]; // about a millisecond of work, long after the calling thread failed
    const [aAt, bAt, cAt] = [operandsAt, operandsAt + m * k * 4, operandsAt + (m + n) * k * 4];
    memory.grow(24);
    const slices = [
      { fn: 'matmul' as const, args: [] },
      { fn: 'matmul' as const, args: [aAt, bAt, cAt, m, k, n] },
    ];
    expect(() => threads.run(slices)).toThrow(failure);
    expect(Atomics.load(words, DONE), "the helper's slice had ended when the error came out").toBe(1);
  });

  it('serve each call once, however late the wake-up reaches a helper that already served it', async () => {
    const { memory, threads, words, operandsAt } = await startTwoThreads();
    // The helper's slice: c = a·b with a [m, k] of one value, b of ones, so every element of c is k·value.
    const [m, k, n] = [16, 32, 8];
    const aAt = operandsAt;
    const bAt = aAt + m * k * 4;
    const cAt = bAt + k * n * 4;
    const a = new Float32Array(memory.buffer, aAt, m * k);
    const c = new Float32Array(memory.buffer, cAt, m * n);
    new Float32Array(memory.buffer, bAt, k * n).fill(1);
    for (let call = 1; call <= 3; call++) {
      a.fill(call);
      threads.run([
        { fn: 'matmul', args: [aAt, bAt, cAt, 0, k, n] },
        { fn: 'matmul', args: [aAt, bAt, cAt, m, k, n] },
      ]);
      expect(c.every((value) => value === call * k), `call ${call}'s output`).toBe(true);
      // The caller reuses the operands' memory for its next call ...
      a.fill(-1);
      // ... while the wake-up of the call just served may still be on its way: the
      // calling thread publishes a call and then wakes the helpers, and a busy
      // machine can deschedule it in between, long enough for a helper that was
      // still awake to see the call, serve it and wait again. Deliver that late
      // wake-up once the helper waits.
      while (Atomics.notify(words, GENERATION, 1) === 0) pause(1);
      // Taken for a new call, it would run the slice again on the reused memory,
      // rewriting the output the caller already took, and count it done twice,
      // so that the next call could return before its slice had run.
      const countedAgain = Atomics.wait(words, DONE, 1, 500) !== 'timed-out';
      expect(c.every((value) => value === call * k), 'the late wake-up rewrote the output of the call already served').toBe(true);
      expect(countedAgain, 'the late wake-up counted the call done a second time').toBe(false);
    }
  });
});
