/**
 * Adam and SGD with momentum as tfjs's own optimisers, with each variable's
 * update in one kernel where the backend has it (wasm with our SIMD module
 * loaded; wasm-kernels.ts registers them).
 *
 * tfjs's AdamOptimizer updates each variable with about ten small
 * elementwise kernels (and MomentumOptimizer with four), each a dispatch
 * through the engine plus a scalar tensor or two; on a narrow network the
 * dispatches, not the arithmetic, are the cost (scripts/profile-wasm-step.ts
 * counts the kernels). These subclasses keep tfjs's state as it is (the
 * moments and accumulations under the same names, `accBeta1/2`, the
 * iteration count), so getWeights/setWeights, dispose and a shrunk model's
 * carried state work unchanged, and replace only the per-variable chain.
 * The fused kernels apply the same float32 operations in the same order,
 * so the results are the same bits (wasm-kernels.suite.ts checks it); on
 * other backends, or before our module is loaded, the stock chain runs.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelReady } from './fused-batch-norm';

/** Inputs value, gradient, firstMoment, secondMoment, oneMinusAccBeta1, oneMinusAccBeta2 (scalars); outputs value, firstMoment, secondMoment. */
export const ADAM_UPDATE = 'LotteryLabAdamUpdate';
/** Inputs value, gradient, accumulation, momentum, negativeRate (scalars); outputs value, accumulation. */
export const MOMENTUM_UPDATE = 'LotteryLabMomentumUpdate';

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

/** tfjs 4.22's private state of MomentumOptimizer. */
interface MomentumState {
  m: tf.Scalar;
  useNesterov: boolean;
  accumulations: Slot[];
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

export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    const state = this as unknown as MomentumState;
    if (state.useNesterov || !kernelReady(MOMENTUM_UPDATE, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    gradientList(variableGradients).forEach(({ value, gradient }, i) => {
      state.accumulations[i] ??= zeroSlot(value, 'momentum');
      if (gradient == null) return;
      const accumulation = state.accumulations[i].variable;
      tf.tidy(() => {
        const inputs = { value, gradient, accumulation, momentum: state.m, negativeRate: this.c };
        const [newValue, newAccumulation] = tf.engine().runKernel(MOMENTUM_UPDATE, inputs) as tf.Tensor[];
        accumulation.assign(newAccumulation!);
        value.assign(newValue!);
      });
    });
    this.incrementIterations();
  }
}
