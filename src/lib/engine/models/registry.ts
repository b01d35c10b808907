/**
 * Model registry (open_lth style): an arch name maps to a layer list. Layer
 * sizes are the LTH paper's (Frankle & Carbin 2019, Figure 2); `width` scales
 * every hidden layer, never the output.
 */
import type { ArchName } from '../config';
import { conv, dense, flatten, maxPool, type Layer, type LayerType } from './layers';
import { Model } from './model';

interface ArchDefinition {
  convs: number[][]; // filters per conv, grouped by pooling block
  dense: number[];
  batchNorm: boolean;
  /** Paper's layer-wise pruning rates for this arch. */
  rates: Record<LayerType, number>;
  /** Paper's training setup, to show beside configs. */
  paper: { iterations: number; batchSize: number; lr: number };
}

export const ARCH_DEFINITIONS: Record<ArchName, ArchDefinition> = {
  'lenet-300-100': {
    convs: [],
    dense: [300, 100],
    batchNorm: false,
    rates: { conv: 0, dense: 0.2, output: 0.1 },
    paper: { iterations: 50_000, batchSize: 60, lr: 1.2e-3 },
  },
  'conv-2': {
    convs: [[64, 64]],
    dense: [256, 256],
    batchNorm: false,
    rates: { conv: 0.1, dense: 0.2, output: 0.1 },
    paper: { iterations: 20_000, batchSize: 60, lr: 2e-4 },
  },
  'conv-4': {
    convs: [[64, 64], [128, 128]],
    dense: [256, 256],
    batchNorm: false,
    rates: { conv: 0.1, dense: 0.2, output: 0.1 },
    paper: { iterations: 25_000, batchSize: 60, lr: 3e-4 },
  },
  'conv-6': {
    convs: [[64, 64], [128, 128], [256, 256]],
    dense: [256, 256],
    batchNorm: false,
    rates: { conv: 0.15, dense: 0.2, output: 0.1 },
    paper: { iterations: 30_000, batchSize: 60, lr: 3e-4 },
  },
  // Our BatchNorm net for EarlyBird/WORM: Conv-4 with BN after every conv
  // (the EB paper uses VGG-16/PreResNet-101, too slow for a browser tab).
  'conv-4-bn': {
    convs: [[64, 64], [128, 128]],
    dense: [256, 256],
    batchNorm: true,
    rates: { conv: 0.1, dense: 0.2, output: 0.1 },
    paper: { iterations: 25_000, batchSize: 60, lr: 3e-4 },
  },
};

export function archLayers(arch: ArchName, width: number, numClasses: number): Layer[] {
  const def = ARCH_DEFINITIONS[arch];
  const scale = (n: number) => Math.max(1, Math.round(n * width));
  const layers: Layer[] = [];
  let convs = 0;
  for (const block of def.convs) {
    for (const filters of block) layers.push(conv(`conv_${++convs}`, scale(filters), { batchNorm: def.batchNorm }));
    layers.push(maxPool());
  }
  layers.push(flatten());
  def.dense.forEach((units, i) => layers.push(dense(`dense_${i + 1}`, scale(units), { output: false })));
  layers.push(dense(`dense_${def.dense.length + 1}`, numClasses, { output: true }));
  return layers;
}

export function createModel(arch: ArchName, width: number, numClasses: number, seed: number): Model {
  return new Model(arch, archLayers(arch, width, numClasses), [32, 32, 3], seed);
}
