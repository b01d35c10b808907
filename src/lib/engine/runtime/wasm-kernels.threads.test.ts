import { describeWasmKernels } from './wasm-kernels.suite';

// Our SIMD kernels sharing each large call with helper threads, as in a
// cross-origin-isolated page's worker; in Node, tfjs itself stays on one thread.
describeWasmKernels(true, 3);
