/**
 * Model registry (open_lth style): an arch name maps to a layer list. Layer
 * sizes are the LTH paper's (Frankle & Carbin 2019, Figure 2); `width` scales
 * every hidden layer, never the output.
 */
import type { ArchName } from '../config';
import { ConfigError } from '../config-error';
import { branchName, branchStage, conv, dense, flatten, maxPool, walkLayers, type Layer, type LayerType, type StageBranch } from './layers';
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

/**
 * Output channels per channel-gating (conv) layer, by layer name, overriding
 * the width-scaled count (`model.channels`, a slim ticket's `channels`). The
 * names come from configs, links and files: they are looked up with
 * `Object.hasOwn` only, and checked against the arch by `channelCountsProblem`.
 */
export type ChannelCounts = Readonly<Record<string, number>>;

/** The widest `model.width`; `model.channels` may give a layer at most as many channels as that width does. */
export const MAX_WIDTH = 4;

/** Whether a `model.channels` key names a supernet branch (`conv_1_k5`) rather than a layer. */
export function isBranchName(key: string): boolean {
  return /_k\d+$/.test(key);
}

/**
 * Why `branches` cannot build on `arch`, or null. The config checks the
 * kernel sizes (`kernelSizesProblem`); the arch is checked when the model is
 * built, before any training, so a builder can set the branches before the arch.
 */
export function branchesProblem(arch: ArchName, branches: readonly number[] | undefined): string | null {
  const sizes = kernelSizesProblem(branches);
  if (sizes || branches === undefined) return sizes;
  const def = ARCH_DEFINITIONS[arch];
  if (!def.batchNorm || def.convs.length === 0) {
    return `model.branches: every branch has its own BatchNorm, so it needs a BatchNorm arch with conv layers (conv-4-bn), not "${arch}"`;
  }
  return null;
}

/** Why the kernel sizes of `model.branches` cannot be a supernet's, or null. */
export function kernelSizesProblem(branches: readonly number[] | undefined): string | null {
  if (branches === undefined) return null;
  if (branches.length === 0) return 'model.branches: give at least one kernel size (e.g. [3, 5]), or leave it out for plain convolutions';
  const even = branches.find((k) => !(Number.isInteger(k) && k >= 1 && k % 2 === 1));
  if (even !== undefined) return `model.branches: kernel size ${even} is not odd: 'same' padding centres only an odd window (use 1, 3, 5, 7)`;
  if (new Set(branches).size !== branches.length) return `model.branches: each kernel size may appear once, got [${branches.join(', ')}]`;
  return null;
}

/**
 * The branches of one supernet stage from channel counts: each branch's
 * count (`conv_1_k5`; default the stage's), the stage's width (`conv_1`;
 * default the widest branch). The first branch adds to the stage's leading
 * channels, the others to its trailing ones; with two branches every layout
 * a search leaves is this one up to the order of the stage's channels (only
 * the first, both, only the second). A branch with 0 channels is left out.
 */
export function stageBranches(stage: string, stageCount: number, kernels: readonly number[], channels?: ChannelCounts): { width: number; branches: StageBranch[] } {
  const counts = kernels.map((k) => (channels && Object.hasOwn(channels, branchName(stage, k)) ? channels[branchName(stage, k)] : stageCount));
  const width = channels && Object.hasOwn(channels, stage) ? channels[stage] : Math.max(...counts);
  const branches = kernels.flatMap((kernel, i) => {
    const n = counts[i];
    if (n === 0) return [];
    const first = i === 0;
    return [{ kernel, positions: Array.from({ length: n }, (_, c) => (first ? c : width - n + c)) }];
  });
  return { width, branches };
}

export function archLayers(arch: ArchName, width: number, numClasses: number, channels?: ChannelCounts, branches?: readonly number[]): Layer[] {
  const branchProblem = branchesProblem(arch, branches);
  if (branchProblem) throw new ConfigError(branchProblem);
  if (channels) {
    const problem = channelCountsProblem(arch, channels, branches);
    if (problem) throw new ConfigError(`Invalid channel counts for ${arch}: ${problem.key}: ${problem.message}`);
  }
  const def = ARCH_DEFINITIONS[arch];
  const scale = (n: number) => Math.max(1, Math.round(n * width));
  const count = (name: string, n: number) => (channels && Object.hasOwn(channels, name) && !branches ? channels[name] : scale(n));
  const layers: Layer[] = [];
  let convs = 0;
  for (const block of def.convs) {
    for (const filters of block) {
      const name = `conv_${++convs}`;
      if (branches) {
        const stage = stageBranches(name, scale(filters), branches, channels);
        layers.push(branchStage(name, stage.width, stage.branches));
      } else {
        layers.push(conv(name, count(name, filters), { batchNorm: def.batchNorm }));
      }
    }
    layers.push(maxPool());
  }
  layers.push(flatten());
  def.dense.forEach((units, i) => layers.push(dense(`dense_${i + 1}`, scale(units), { output: false })));
  layers.push(dense(`dense_${def.dense.length + 1}`, numClasses, { output: true }));
  return layers;
}

/**
 * The channel-gating layers of `arch` (the named layers with [height, width,
 * channels] outputs: its convs) and the output channels each has at `width`,
 * in layer order.
 */
export function channelLayers(arch: ArchName, width: number, branches?: readonly number[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { layer, output } of walkLayers(archLayers(arch, width, 1), [32, 32, 3])) {
    if (!layer.name || output.length !== 3) continue;
    counts.set(layer.name, output[2]);
    // A supernet stage's branches each gate their own channels.
    for (const k of branches ?? []) counts.set(branchName(layer.name, k), output[2]);
  }
  return counts;
}

/**
 * Why `channels` cannot build `arch`: the first entry whose key names no
 * channel-gating layer of it, or whose count is not a whole number from 1 to
 * what the widest width gives that layer; null when every entry can. The
 * config reports it as `model.channels.<key>`, a ticket file under its
 * `channels` metadata.
 */
export function channelCountsProblem(
  arch: ArchName,
  channels: Readonly<Record<string, unknown>>,
  branches?: readonly number[],
): { key: string; message: string } | null {
  const widest = channelLayers(arch, MAX_WIDTH, branches);
  for (const [key, count] of Object.entries(channels)) {
    const max = widest.get(key);
    if (max === undefined) {
      const names = [...widest.keys()];
      return { key, message: `${arch} has no conv layer "${key}" (${names.length ? `its conv layers: ${names.join(', ')}` : 'it has no conv layers'})` };
    }
    // A branch may have no channel left (it is gone); a stage or a plain conv keeps one.
    const min = branches && isBranchName(key) ? 0 : 1;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < min || count > max) {
      return { key, message: `must be a whole number of output channels from ${min} to ${max} (what width ${MAX_WIDTH} gives it), got ${JSON.stringify(count) ?? String(count)}` };
    }
  }
  if (!branches) return null;
  // Each stage: some branch left, every stage channel reached by one, no branch wider than its stage.
  const counts = channels as ChannelCounts;
  for (const stage of [...widest.keys()].filter((name) => !isBranchName(name))) {
    const own = (k: number) => (Object.hasOwn(counts, branchName(stage, k)) ? counts[branchName(stage, k)] : null);
    if (branches.every((k) => own(k) === 0)) return { key: stage, message: `every branch of ${stage} has 0 channels: a stage needs one channel to reach the logits` };
    if (!Object.hasOwn(counts, stage)) continue;
    const width = counts[stage];
    const sizes = branches.map((k) => own(k) ?? width);
    if (Math.max(...sizes) > width) return { key: stage, message: `${width} channels are fewer than its widest branch has (${Math.max(...sizes)})` };
    if (sizes.reduce((a, b) => a + b, 0) < width) return { key: stage, message: `${width} channels are more than its branches add to (${sizes.join(' + ')})` };
  }
  return null;
}

/** The conv layers whose output channels in `model` differ from what `width` gives them: a slim network's counts, or null when it has none. */
export function slimChannels(model: Model, width: number): Record<string, number> | null {
  if (!Object.hasOwn(ARCH_DEFINITIONS, model.arch)) return null;
  const scaled = channelLayers(model.arch as ArchName, width);
  const slim: Record<string, number> = Object.create(null);
  for (const { layer, output } of walkLayers(model.layers, model.inputShape)) {
    const count = scaled.get(layer.name);
    if (count !== undefined && output[2] !== count) slim[layer.name] = output[2];
  }
  return Object.keys(slim).length > 0 ? slim : null;
}

export function createModel(arch: ArchName, width: number, numClasses: number, seed: number, channels?: ChannelCounts, branches?: readonly number[]): Model {
  return new Model(arch, archLayers(arch, width, numClasses, channels, branches), [32, 32, 3], seed);
}
