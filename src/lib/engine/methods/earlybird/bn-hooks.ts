/**
 * What a ticket search does to the BatchNorm layers: the gradient add-ons
 * (network slimming's sign-L1 term, WORM's per-channel damping, frozen
 * pruned channels) and zeroing the pruned channels.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig, MethodName } from '../../config';
import type { BatchNormLayer, Model } from '../../models/model';
import { ARCH_DEFINITIONS } from '../../models/registry';
import type { GradientHook } from '../../train/trainer';

export function requireBatchNorm(config: ExperimentConfig, method: MethodName): void {
  if (!ARCH_DEFINITIONS[config.model.arch].batchNorm) {
    throw new Error(`Method "${method}" ranks BatchNorm scales: model.arch "${config.model.arch}" has no BatchNorm (use conv-4-bn)`);
  }
}

/**
 * Gradient add-ons on the BN parameters, applied before weight decay and the
 * optimiser: network slimming's sign-L1 term grad_gamma += s * sign(gamma),
 * then, where `channelScales` has a factor for the layer, gamma's and beta's
 * gradients multiplied per channel (WORM's M + chi(1 - M); 0/1 to freeze
 * pruned channels while retraining).
 */
export function bnGradientHook(
  batchNorms: BatchNormLayer[],
  sparsity: number,
  channelScales: () => Map<string, tf.Tensor1D> | null,
): GradientHook {
  return (grads) => {
    const scales = channelScales();
    for (const bn of batchNorms) {
      const scale = scales?.get(bn.name);
      replaceGrad(grads, `${bn.name}/bn_gamma`, sparsity > 0 || scale !== undefined, (g) => {
        const slimmed = sparsity > 0 ? tf.add(g, tf.mul(tf.sign(bn.gamma), sparsity)) : g;
        return scale ? tf.mul(slimmed, scale) : slimmed;
      });
      if (scale) replaceGrad(grads, `${bn.name}/bn_beta`, true, (g) => tf.mul(g, scale));
    }
  };
}

function replaceGrad(grads: tf.NamedTensorMap, name: string, changes: boolean, f: (grad: tf.Tensor) => tf.Tensor): void {
  const grad = grads[name];
  if (!grad || !changes) return;
  grads[name] = tf.tidy(() => f(grad));
  grad.dispose();
}

/**
 * The per-channel gradient factors in force, as device tensors for the hook:
 * set from per-layer factors (null: none, every gradient as it is), disposed
 * when replaced and on `dispose`.
 */
export class ChannelScales {
  private scales: Map<string, tf.Tensor1D> | null = null;

  /** The hook reads this on every step. */
  readonly current = (): Map<string, tf.Tensor1D> | null => this.scales;

  set(factors: Map<string, Float32Array> | null): void {
    this.dispose();
    this.scales = factors && new Map([...factors].map(([name, f]) => [name, tf.tensor1d(f)]));
  }

  dispose(): void {
    if (this.scales) tf.dispose([...this.scales.values()]);
    this.scales = null;
  }
}

/** Zero gamma and beta of the pruned channels. */
export function zeroChannels(model: Model, channelKeep: Map<string, Uint8Array>): void {
  for (const bn of model.batchNorms) {
    tf.tidy(() => {
      const keep = tf.tensor1d(Float32Array.from(channelKeep.get(bn.name)!));
      bn.gamma.assign(tf.mul(bn.gamma, keep));
      bn.beta.assign(tf.mul(bn.beta, keep));
    });
  }
}
