import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clangAvailable, generatedModuleText, SIMD_GENERATED } from '../../../../../scripts/build-simd-kernels';
import { loadSimdKernels, simdKernels } from './simd-kernels';

describe('SIMD kernel module', () => {
  it('compiles and loads in Node', async () => {
    expect(await loadSimdKernels()).toBe(true);
    expect(simdKernels()).not.toBeNull();
  });

  // The kernels' correctness is checked against tfjs's cpu backend in wasm-kernels.test.ts.
  it.skipIf(!clangAvailable())('is built from the committed kernels.c (needs clang and wasm-ld)', () => {
    expect(readFileSync(SIMD_GENERATED, 'utf8')).toBe(generatedModuleText());
  });
});

if (!clangAvailable()) {
  console.warn('simd-kernels.test: clang/wasm-ld not found, so kernels-wasm.ts is not rebuilt and compared (apt-get install -y clang lld).');
}
