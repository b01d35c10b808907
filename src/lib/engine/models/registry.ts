/**
 * Model registry (open_lth style): an arch name maps to a layer list. Layer
 * sizes are the LTH paper's (Frankle & Carbin 2019, Figure 2); `width` scales
 * every hidden layer, never the output.
 */
import type { ArchName } from '../config';
import { ConfigError } from '../config-error';
import { conv, dense, flatten, maxPool, walkLayers, type Layer, type LayerType } from './layers';
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

export function archLayers(arch: ArchName, width: number, numClasses: number, channels?: ChannelCounts): Layer[] {
  if (channels) {
    const problem = channelCountsProblem(arch, channels);
    if (problem) throw new ConfigError(`Invalid channel counts for ${arch}: ${problem.key}: ${problem.message}`);
  }
  const def = ARCH_DEFINITIONS[arch];
  const scale = (n: number) => Math.max(1, Math.round(n * width));
  const count = (name: string, n: number) => (channels && Object.hasOwn(channels, name) ? channels[name] : scale(n));
  const layers: Layer[] = [];
  let convs = 0;
  for (const block of def.convs) {
    for (const filters of block) {
      const name = `conv_${++convs}`;
      layers.push(conv(name, count(name, filters), { batchNorm: def.batchNorm }));
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
export function channelLayers(arch: ArchName, width: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { layer, output } of walkLayers(archLayers(arch, width, 1), [32, 32, 3])) {
    if (layer.name && output.length === 3) counts.set(layer.name, output[2]);
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
export function channelCountsProblem(arch: ArchName, channels: Readonly<Record<string, unknown>>): { key: string; message: string } | null {
  const widest = channelLayers(arch, MAX_WIDTH);
  for (const [key, count] of Object.entries(channels)) {
    const max = widest.get(key);
    if (max === undefined) {
      const names = [...widest.keys()];
      return { key, message: `${arch} has no conv layer "${key}" (${names.length ? `its conv layers: ${names.join(', ')}` : 'it has no conv layers'})` };
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > max) {
      return { key, message: `must be a whole number of output channels from 1 to ${max} (what width ${MAX_WIDTH} gives it), got ${JSON.stringify(count) ?? String(count)}` };
    }
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

export function createModel(arch: ArchName, width: number, numClasses: number, seed: number, channels?: ChannelCounts): Model {
  return new Model(arch, archLayers(arch, width, numClasses, channels), [32, 32, 3], seed);
}
