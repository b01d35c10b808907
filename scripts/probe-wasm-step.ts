/**
 * Times one Adam step of the paper's Conv-2 (conv 64,64 3×3 same + ReLU,
 * max-pool 2, dense 256,256,10 on 32×32×3 input) at batch 16 on the wasm
 * backend in Node, before and after registerWasmTrainingKernels().
 *
 *   npx tsx scripts/probe-wasm-step.ts [steps] [--cpu]
 *
 * "Before" cannot be the stock backend as shipped, because tfjs 4.22's wasm
 * backend has no Conv2DBackpropFilter kernel and so cannot train at all. The
 * baseline therefore adds the least it takes to train: a plain JavaScript
 * filter-gradient loop, with the stock (scalar) Conv2DBackpropInput and
 * transposed BatchMatMul left in place. `--cpu` also times the cpu backend
 * for reference (minutes per step). Prints; asserts nothing.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/lib/engine/runtime/wasm-kernels.ts';

const BATCH = 16;
const CLASSES = 10;
const args = process.argv.slice(2);
const TIMED_STEPS = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 5);
const WITH_CPU = args.includes('--cpu');

/** Filter gradient as a direct loop over the wasm heap: the baseline. */
function naiveConv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const x = inputs.x!;
  const dy = inputs.dy!;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const xValues = backend.typedArrayFromHeap(x);
  const dyValues = backend.typedArrayFromHeap(dy);
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  const dW = backend.typedArrayFromHeap(out);
  dW.fill(0);
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - info.padInfo.top + kh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - info.padInfo.left + kw;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xv = xValues[xBase + ci]!;
              const wBase = ((kh * filterWidth + kw) * inChannels + ci) * outChannels;
              for (let co = 0; co < outChannels; co++) dW[wBase + co]! += xv * dyValues[dyBase + co]!;
            }
          }
        }
      }
    }
  }
  return out;
}

interface Conv2 {
  variables: tf.Variable[];
  loss: (x: tf.Tensor4D, labels: tf.Tensor2D) => tf.Scalar;
}

function glorot(shape: number[], fanIn: number, fanOut: number): tf.Variable {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tf.variable(tf.randomUniform(shape, -limit, limit, 'float32', 7));
}

function buildConv2(): Conv2 {
  const conv1 = glorot([3, 3, 3, 64], 27, 576);
  const conv2 = glorot([3, 3, 64, 64], 576, 576);
  const dense1 = glorot([16 * 16 * 64, 256], 16 * 16 * 64, 256);
  const dense2 = glorot([256, 256], 256, 256);
  const output = glorot([256, CLASSES], 256, CLASSES);
  const biases = [64, 64, 256, 256, CLASSES].map((size) => tf.variable(tf.zeros([size])));
  const [b1, b2, b3, b4, b5] = biases as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const loss = (x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar => {
    let h = tf.relu(tf.add(tf.conv2d(x, conv1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D;
    h = tf.relu(tf.add(tf.conv2d(h, conv2 as tf.Tensor4D, 1, 'same'), b2)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    let d = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    d = tf.relu(tf.add(tf.matMul(d, dense1 as tf.Tensor2D), b3)) as tf.Tensor2D;
    d = tf.relu(tf.add(tf.matMul(d, dense2 as tf.Tensor2D), b4)) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(d, output as tf.Tensor2D), b5);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  };
  return { variables: [conv1, conv2, dense1, dense2, output, ...biases], loss };
}

/** Mean seconds per Adam step after one untimed warm-up step. */
function timeSteps(steps: number): number {
  const model = buildConv2();
  const optimizer = tf.train.adam(2e-4);
  const x = tf.randomNormal([BATCH, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % CLASSES), 'int32'), CLASSES);
  const step = (): void => {
    const loss = optimizer.minimize(() => model.loss(x, labels as tf.Tensor2D), true, model.variables);
    loss?.dataSync();
    loss?.dispose();
  };
  step();
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - start) / 1000 / steps;
  optimizer.dispose();
  tf.dispose([x, labels, ...model.variables]);
  return seconds;
}

async function main(): Promise<void> {
  if (WITH_CPU) {
    await tf.setBackend('cpu');
    const cpuSeconds = timeSteps(1);
    console.log(`cpu backend:                           ${cpuSeconds.toFixed(3)} s/step`);
  }

  await tf.setBackend('wasm');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: naiveConv2dBackpropFilter as unknown as tf.KernelFunc,
  });
  const beforeSeconds = timeSteps(Math.max(1, Math.min(TIMED_STEPS, 3)));
  console.log(`wasm, stock kernels + JS filter grad:  ${beforeSeconds.toFixed(3)} s/step`);

  tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
  registerWasmTrainingKernels();
  const afterSeconds = timeSteps(TIMED_STEPS);
  console.log(`wasm, registerWasmTrainingKernels():   ${afterSeconds.toFixed(3)} s/step`);
  console.log(`speed-up over the wasm baseline: ${(beforeSeconds / afterSeconds).toFixed(1)}×`);
  console.log(`(Conv-2, batch ${BATCH}, Adam, Node ${process.version}, wasm threads: 1 in Node)`);
}

await main();
