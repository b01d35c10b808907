import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  isSoftwareAdapter,
  probeWebGpuAdapter,
  toAdapterInfo,
  type GpuAdapterInfoLike,
  type GpuLike,
} from './backend';
import { autoBackendFor } from './backend-policy';
import { simdKernels } from './simd/simd-kernels';
import { wasmTrainingKernelsRegistered } from './wasm-kernels';

describe('initBackend in Node', () => {
  it("trains on wasm for 'auto', with no notice and no adapter", async () => {
    const info = await initBackend('auto');
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.notice).toBeNull();
    expect(info.adapter).toBeNull();
    // tfjs runs XNNPACK on one thread in Node; our SIMD kernels take every core.
    expect(info.threads).toBe(availableParallelism());
    expect(simdKernels()?.threadCount).toBe(availableParallelism());
    expect(typeof info.simd).toBe('boolean');
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    expect(simdKernels()).not.toBeNull();
  });

  it('uses a forced cpu backend', async () => {
    const info = await initBackend('cpu');
    expect(info).toEqual({ backend: 'cpu', adapter: null, notice: null, threads: null, simd: null });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('uses a forced wasm backend', async () => {
    const info = await initBackend('wasm');
    expect(info.backend).toBe('wasm');
    expect(info.notice).toBeNull();
    expect(tf.getBackend()).toBe('wasm');
  });

  it('falls back from a forced webgpu with a notice naming both backends', async () => {
    const info = await initBackend('webgpu');
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.notice).toMatch(/webgpu/);
    expect(info.notice).toMatch(/wasm/);
    expect(info.adapter).toBeNull();
  });

  it('falls back from a forced webgl, which Node cannot start', async () => {
    const info = await initBackend('webgl');
    expect(info.backend).toBe('wasm');
    expect(info.notice).toMatch(/webgl.*wasm/);
  });
});

describe('isSoftwareAdapter', () => {
  const samples: [GpuAdapterInfoLike, boolean][] = [
    [{ vendor: 'google', architecture: 'swiftshader' }, true],
    [{ vendor: 'google', architecture: '', description: 'SwiftShader Device (Subzero)' }, true],
    [{ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, true],
    [{ vendor: 'mesa', description: 'lavapipe' }, true],
    [{ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }, true],
    [{ vendor: 'intel', architecture: 'gen-12lp', isFallbackAdapter: true }, true],
    [{ vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3080' }, false],
    [{ vendor: 'apple', architecture: 'metal-3' }, false],
    [{ vendor: 'intel', architecture: 'gen-12lp', isFallbackAdapter: false }, false],
    [{}, false],
  ];
  it.each(samples)('%j → software %s', (info, software) => {
    expect(isSoftwareAdapter(info)).toBe(software);
    expect(toAdapterInfo(info).software).toBe(software);
  });

  it('fills missing fields and honours the adapter-level fallback flag', () => {
    expect(toAdapterInfo({ vendor: 'amd' }, true)).toEqual({
      vendor: 'amd',
      architecture: '',
      description: '',
      isFallbackAdapter: true,
      software: true,
    });
  });
});

describe('probeWebGpuAdapter', () => {
  const gpuReturning = (adapter: unknown): GpuLike => ({
    requestAdapter: async () => adapter as Awaited<ReturnType<GpuLike['requestAdapter']>>,
  });

  it('reads adapter.info', async () => {
    const info = await probeWebGpuAdapter(gpuReturning({ info: { vendor: 'google', architecture: 'swiftshader' } }));
    expect(info).toMatchObject({ vendor: 'google', architecture: 'swiftshader', software: true });
  });

  it('reads isFallbackAdapter from the adapter of older browsers', async () => {
    const info = await probeWebGpuAdapter(gpuReturning({ info: { vendor: 'x' }, isFallbackAdapter: true }));
    expect(info).toMatchObject({ isFallbackAdapter: true, software: true });
  });

  it('falls back to requestAdapterInfo() when adapter.info is missing', async () => {
    const adapter = { requestAdapterInfo: async () => ({ vendor: 'nvidia', architecture: 'turing' }) };
    expect(await probeWebGpuAdapter(gpuReturning(adapter))).toMatchObject({ vendor: 'nvidia', software: false });
  });

  it('returns null without an adapter, or when the request throws', async () => {
    expect(await probeWebGpuAdapter(gpuReturning(null))).toBeNull();
    const throwing: GpuLike = {
      requestAdapter: async () => {
        throw new Error('blocked');
      },
    };
    expect(await probeWebGpuAdapter(throwing)).toBeNull();
  });
});

describe("the 'auto' policy", () => {
  it('trains on webgpu for a hardware adapter and on wasm for a software one or none', () => {
    expect(autoBackendFor(toAdapterInfo({ vendor: 'nvidia', architecture: 'ada' }))).toBe('webgpu');
    expect(autoBackendFor(toAdapterInfo({ vendor: 'apple', architecture: 'metal-3' }))).toBe('webgpu');
    expect(autoBackendFor(toAdapterInfo({ vendor: 'google', architecture: 'swiftshader' }))).toBe('wasm');
    expect(autoBackendFor(toAdapterInfo({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.7, 256 bits)' }))).toBe('wasm');
    expect(autoBackendFor(toAdapterInfo({ vendor: 'intel' }, true))).toBe('wasm'); // isFallbackAdapter
    expect(autoBackendFor(null)).toBe('wasm');
  });
});
