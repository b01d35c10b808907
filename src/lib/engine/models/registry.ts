/**
 * Model registry (open_lth style): an arch name maps to a layer list. Layer
 * sizes are the LTH paper's (Frankle & Carbin 2019, Figure 2); `width` scales
 * every hidden layer, never the output.
 */
import type { ArchName } from '../config';
import { branchStage, conv, dense, flatten, leadingPositions, maxPool, type Layer, type LayerType } from './layers';
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

/** What the MODEL block says beside the arch and width: a supernet's parallel branches. */
export interface ArchOptions {
  /** Kernel sizes of the parallel branches every conv stage has (SuperTickets' supernet); needs a BatchNorm arch. */
  branches?: readonly number[];
}

/** Why `branches` cannot build on `arch`, or null. */
export function branchesProblem(arch: ArchName, branches: readonly number[] | undefined): string | null {
  if (branches === undefined) return null;
  if (branches.length === 0) return 'model.branches: give at least one kernel size (e.g. [3, 5]), or leave it out for plain convolutions';
  const even = branches.find((k) => !(Number.isInteger(k) && k >= 1 && k % 2 === 1));
  if (even !== undefined) return `model.branches: kernel size ${even} is not odd: 'same' padding centres only an odd window (use 1, 3, 5, 7)`;
  if (new Set(branches).size !== branches.length) return `model.branches: each kernel size may appear once, got [${branches.join(', ')}]`;
  const def = ARCH_DEFINITIONS[arch];
  if (!def.batchNorm || def.convs.length === 0) {
    return `model.branches: every branch has its own BatchNorm, so it needs a BatchNorm arch with conv layers (conv-4-bn), not "${arch}"`;
  }
  return null;
}

export function archLayers(arch: ArchName, width: number, numClasses: number, options: ArchOptions = {}): Layer[] {
  const def = ARCH_DEFINITIONS[arch];
  const problem = branchesProblem(arch, options.branches);
  if (problem) throw new Error(problem);
  const scale = (n: number) => Math.max(1, Math.round(n * width));
  const stage = (name: string, filters: number): Layer =>
    options.branches
      ? branchStage(name, filters, options.branches.map((kernel) => ({ kernel, positions: leadingPositions(filters) })))
      : conv(name, filters, { batchNorm: def.batchNorm });
  const layers: Layer[] = [];
  let convs = 0;
  for (const block of def.convs) {
    for (const filters of block) layers.push(stage(`conv_${++convs}`, scale(filters)));
    layers.push(maxPool());
  }
  layers.push(flatten());
  def.dense.forEach((units, i) => layers.push(dense(`dense_${i + 1}`, scale(units), { output: false })));
  layers.push(dense(`dense_${def.dense.length + 1}`, numClasses, { output: true }));
  return layers;
}

export function createModel(arch: ArchName, width: number, numClasses: number, seed: number, options: ArchOptions = {}): Model {
  return new Model(arch, archLayers(arch, width, numClasses, options), [32, 32, 3], seed);
}
