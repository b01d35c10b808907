import { describeWasmKernels } from './wasm-kernels.suite';

// The plain SIMD build, which engines without relaxed SIMD load: elsewhere
// the suite runs on the relaxed build wherever the engine has it.
describeWasmKernels(true, 1, 'plain');
