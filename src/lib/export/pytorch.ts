/**
 * Export an experiment as a PyTorch program (issue 21): the validated config,
 * the network as the lab builds it (network.json: every layer's op, name and
 * kernel shape, and the pruning rule resolved to per-layer rates), and run.py,
 * which reads both. The network and rule come from the engine's own layer
 * list and rate tables, so the exported program cannot drift from the lab's
 * names, shapes or rates.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, type ExperimentConfig } from '../engine/config';
import { layerRates, oneShotLayerRates } from '../engine/masks/prune';
import { walkLayers, type ActivationShape, type PrunableLayer, type VariableBuilder } from '../engine/models/layers';
import { ARCH_DEFINITIONS, archLayers } from '../engine/models/registry';
import { cifarClassNames } from '../engine/data/cifar';
import { checkExportable } from './pytorch-scope';

export { checkExportable, exportRefusal, PYTORCH_METHODS } from './pytorch-scope';

/** The files of an exported experiment by name, as the CLI writes them to a folder and the page zips them. */
export type PytorchExportFiles = Record<'config.json' | 'network.json' | 'run.py', string>;

/**
 * data.dir of an experiment exported from the page, for the user to edit: the
 * page's data is files dropped in the tab or a URL, never a folder run.py can read.
 */
export const PAGE_DATA_DIR = 'EDIT-ME: the folder holding the CIFAR .bin files (or run python run.py --data-dir DIR)';

/**
 * The exported experiment: `config` with data.dir set to `dataDir` (run.py
 * reads the CIFAR files from there unless given --data-dir), the network as
 * the lab builds it, and run.py's text (`runPy`: the CLI reads the file, the
 * page imports it with Vite's ?raw). Throws a ConfigError for what the
 * exporter does not cover.
 */
export function pytorchExportFiles(config: ExperimentConfig, runPy: string, dataDir: string): PytorchExportFiles {
  checkExportable(config);
  const network = exportNetwork(config);
  return {
    'config.json': JSON.stringify({ ...config, data: { ...config.data, dir: dataDir } }, null, 2),
    'network.json': JSON.stringify(network, null, 2),
    'run.py': runPy,
  };
}

export type ExportedLayer =
  | { op: 'conv' | 'dense'; name: string; kernel: number[]; fanIn: number; fanOut: number; batchNorm: boolean; output: boolean }
  | { op: 'maxPool' | 'flatten' };

export type ExportedRule =
  | { strategy: 'layerwise'; rates: Record<string, number> }
  | { strategy: 'global'; fraction: number; ignore: string[] };

export interface ExportedNetwork {
  arch: string;
  width: number;
  numClasses: number;
  inputShape: number[];
  layers: ExportedLayer[];
  prunable: PrunableLayer[];
  prune: ExportedRule;
}

/** Outputs of the network for a data source (the lab takes them from the data it loads). */
function classCount(config: ExperimentConfig): number {
  return cifarClassNames(config.data.source as 'cifar10' | 'cifar100', config.data.labels).length;
}

/**
 * The layer list as the lab builds it: each layer is built against a recorder
 * instead of a model, so every kernel's name, shape, fan-in/out and type come
 * from the layer itself.
 */
export function exportNetwork(config: ExperimentConfig): ExportedNetwork {
  const { arch, width } = config.model;
  const numClasses = classCount(config);
  const inputShape: ActivationShape = [32, 32, 3];
  const layers: ExportedLayer[] = [];
  const prunable: PrunableLayer[] = [];
  for (const { layer, input, output } of walkLayers(archLayers(arch, width, numClasses, config.model.channels), inputShape)) {
    let kernel: { type: string; shape: number[]; fanIn: number; fanOut: number } | null = null;
    let batchNorm = false;
    const recorder: VariableBuilder = {
      param: (_name, value) => (value.dispose(), null as unknown as tf.Variable),
      buffer: (_name, value) => (value.dispose(), null as unknown as tf.Variable),
      kernel(name, type, shape, fanIn, fanOut) {
        kernel = { type, shape, fanIn, fanOut };
        prunable.push({ name, type, shape, size: shape.reduce((a, b) => a * b, 1) });
        return null as unknown as tf.Variable;
      },
      batchNorm: () => (batchNorm = true),
    };
    layer.build(input, recorder);
    const k = kernel as { type: string; shape: number[]; fanIn: number; fanOut: number } | null;
    if (k && k.shape.length === 4) {
      layers.push({ op: 'conv', name: layer.name, kernel: k.shape, fanIn: k.fanIn, fanOut: k.fanOut, batchNorm, output: false });
    } else if (k && k.shape.length === 2) {
      layers.push({ op: 'dense', name: layer.name, kernel: k.shape, fanIn: k.fanIn, fanOut: k.fanOut, batchNorm, output: k.type === 'output' });
    } else if (!k && input.length === 3 && output.length === 3 && output[0] === Math.floor(input[0] / 2)) {
      layers.push({ op: 'maxPool' });
    } else if (!k && output.length === 1) {
      layers.push({ op: 'flatten' });
    } else {
      throw new ConfigError(`Cannot export layer "${layer.name || '(unnamed)'}" of ${arch}: the PyTorch program has no such layer type`);
    }
  }
  return { arch, width, numClasses, inputShape: [...inputShape], layers, prunable, prune: exportRule(config, prunable) };
}

/** The pruning step of `config` resolved to per-layer rates or one global fraction, as the lab's IMP computes them. */
function exportRule(config: ExperimentConfig, prunable: PrunableLayer[]): ExportedRule {
  const { prune } = config;
  const rates = layerRates(prunable, ARCH_DEFINITIONS[config.model.arch].rates, prune.rate);
  const ignore = prune.ignore ?? prunable.filter((l) => l.type === 'output').map((l) => l.name);
  const unknown = ignore.find((name) => !prunable.some((l) => l.name === name));
  if (unknown !== undefined) throw new ConfigError(`prune.ignore names "${unknown}", which is not a prunable layer of ${config.model.arch}`);
  if (prune.strategy === 'global') {
    let fraction = prune.fraction;
    if (prune.oneShotSparsity !== undefined) {
      // One step removing oneShotSparsity of all prunable weights from the unignored ones.
      const total = prunable.reduce((n, l) => n + l.size, 0);
      const unignored = prunable.filter((l) => !ignore.includes(l.name)).reduce((n, l) => n + l.size, 0);
      fraction = Math.min(0.999, (prune.oneShotSparsity * total) / unignored);
    }
    return { strategy: 'global', fraction, ignore };
  }
  const perLayer = prune.oneShotSparsity !== undefined ? oneShotLayerRates(prunable, rates, prune.oneShotSparsity) : rates;
  return { strategy: 'layerwise', rates: Object.fromEntries(perLayer) };
}
