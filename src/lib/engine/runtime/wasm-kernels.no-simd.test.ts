import { vi } from 'vitest';
import { describeWasmKernels } from './wasm-kernels.suite';

// As on a browser without wasm SIMD: the module never loads, so every
// kernel takes its fallback (a composition of XNNPACK kernels, or tfjs's own).
vi.mock('./simd/simd-kernels', () => ({
  loadSimdKernels: async () => false,
  simdKernels: () => null,
}));

describeWasmKernels(false);
