import { describeWasmKernels } from './wasm-kernels.suite';

describeWasmKernels(true);
