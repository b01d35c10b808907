/**
 * Adam as tfjs's own AdamOptimizer, with each variable's update in one
 * kernel where the backend has it (wasm with our SIMD module loaded;
 * wasm-kernels.ts registers it).
 *
 * tfjs's AdamOptimizer updates each variable with ten small elementwise
 * kernels, each a dispatch through the engine plus a scalar tensor or two,
 * and each a pass over memory. This subclass keeps tfjs's state as it is
 * (the moments under the same names, `accBeta1/2`, the iteration count), so
 * getWeights/setWeights, dispose and a shrunk model's carried state work
 * unchanged, and replaces only the per-variable chain. The fused kernel
 * applies the same float32 operations in the same order, so the results
 * are the same bits (wasm-kernels.suite.ts checks it); on other backends, or
 * before our module is loaded, tfjs's chain runs.
 *
 * Momentum SGD keeps tfjs's own optimiser: its chain is four kernels, and a
 * fused kernel measured no faster on Conv-4 ×0.25 and slower on the
 * full-width Conv-2, where copying the operands into our module's memory
 * and back costs more than the four passes it saves
 * (scripts/time-optimizer-update.ts; README "Narrow and BatchNorm networks").
 */
import * as tf from '@tensorflow/tfjs';
import { kernelReady } from './fused-batch-norm';

/** Inputs value, gradient, firstMoment, secondMoment, oneMinusAccBeta1, oneMinusAccBeta2 (scalars); outputs value, firstMoment, secondMoment. */
export const ADAM_UPDATE = 'LotteryLabAdamUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** tfjs 4.22's private state of AdamOptimizer, which the fused path reads and updates as tfjs's own does. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
}

/** What tfjs's `applyGradients` takes. */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** The gradients in tfjs's order (the index of each names its optimiser slots), with their variables. */
function gradientList(variableGradients: VariableGradients): Array<{ value: tf.Variable; gradient: tf.Tensor | undefined }> {
  const named = Array.isArray(variableGradients)
    ? variableGradients.map(({ name, tensor }) => [name, tensor] as const)
    : Object.entries(variableGradients);
  return named.map(([name, gradient]) => {
    const value = tf.engine().registeredVariables[name];
    if (value == null) throw new Error(`the optimiser got a gradient for '${name}', which is no variable`);
    return { value, gradient };
  });
}

/** A zero slot beside `value`, named as tfjs names it. */
function zeroSlot(value: tf.Variable, suffix: string): Slot {
  return { originalName: `${value.name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** tfjs's defaults for β1 and β2 (`tf.train.adam`), and its backend's ε. */
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999) {
    super(learningRate, beta1, beta2);
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (!kernelReady(ADAM_UPDATE, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const attrs: AdamUpdateAttrs = { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, learningRate: this.learningRate };
    tf.tidy(() => {
      const oneMinusAccBeta1 = tf.sub(1, state.accBeta1);
      const oneMinusAccBeta2 = tf.sub(1, state.accBeta2);
      gradientList(variableGradients).forEach(({ value, gradient }, i) => {
        state.accumulatedFirstMoment[i] ??= zeroSlot(value, 'm');
        state.accumulatedSecondMoment[i] ??= zeroSlot(value, 'v');
        if (gradient == null) return;
        const firstMoment = state.accumulatedFirstMoment[i].variable;
        const secondMoment = state.accumulatedSecondMoment[i].variable;
        const inputs = { value, gradient, firstMoment, secondMoment, oneMinusAccBeta1, oneMinusAccBeta2 };
        const [newValue, newFirst, newSecond] = tf.engine().runKernel(ADAM_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        firstMoment.assign(newFirst!);
        secondMoment.assign(newSecond!);
        value.assign(newValue!);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
