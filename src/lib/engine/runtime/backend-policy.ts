/**
 * Which backend 'auto' trains on, given the WebGPU adapter found. Kept free
 * of tfjs so the end-to-end tests can ask the same rule about the adapter
 * the page reports, on whatever machine they run.
 */
export function autoBackendFor(adapter: { software: boolean } | null): 'webgpu' | 'wasm' {
  // A software rasteriser (SwiftShader, llvmpipe...) emulates the GPU on the
  // CPU, where the wasm kernels train far faster.
  return adapter !== null && !adapter.software ? 'webgpu' : 'wasm';
}
