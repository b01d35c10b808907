/**
 * The one serializable experiment config. The same object drives the page, the
 * CLI, saved runs, shared links and tests. Validation fills in the reference
 * defaults (../shared/reference/pruning-methods.md) and names the offending
 * field on error.
 */
import * as v from 'valibot';
import { SYNTHETIC_DIFFICULTIES } from './data/synthetic';
import { METHOD_REGISTRY, METHODS, type BlockMethodName, type MethodName, type MethodRegistry } from './methods/registry';
import { ConfigError } from './config-error';
import { checkClassList, classListSchema } from './data/task';
import { channelCountsProblem, isBranchName, kernelSizesProblem } from './models/registry';

export { METHODS, type MethodName };

export const CONFIG_VERSION = 1;

export const ARCHS = ['lenet-300-100', 'conv-2', 'conv-4', 'conv-6', 'conv-4-bn'] as const;
export const BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
export const DATA_SOURCES = ['synthetic', 'cifar10', 'cifar100'] as const;

export type ArchName = (typeof ARCHS)[number];
export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendRequest, 'auto'>;
export type DataSource = (typeof DATA_SOURCES)[number];

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const fraction = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const openFraction = v.pipe(v.number(), v.minValue(0), v.maxValue(0.999));

const DataSchema = v.strictObject({
  source: v.optional(v.picklist(DATA_SOURCES), 'synthetic'),
  /** Folder (Node) or URL prefix (browser) holding the binary files. */
  dir: v.optional(v.string()),
  /** Training files; defaults to the official names for the source. */
  train: v.optional(v.array(v.string())),
  test: v.optional(v.string()),
  /** An official `cifar-10-binary.tar.gz` / `cifar-100-binary.tar.gz` inside `dir`, read instead of loose files. */
  archive: v.optional(v.string()),
  /** CIFAR-100 only: which label byte to train on. */
  labels: v.optional(v.picklist(['fine', 'coarse']), 'fine'),
  trainLimit: v.optional(positiveInt),
  testLimit: v.optional(positiveInt),
  /** Images held out of the training set for validation (the paper: 5,000 of 50,000). */
  validation: v.optional(nonNegativeInt, 500),
  augment: v.optional(v.boolean(), false),
  /** Size of the built-in synthetic set. */
  syntheticTrain: v.optional(positiveInt, 6000),
  syntheticTest: v.optional(positiveInt, 1000),
  /** The task: these classes only, relabelled 0..n-1 in the order given (e.g. CIFAR-10 classes 5-9). */
  classes: v.optional(classListSchema),
  /**
   * The built-in set's nuisance. 'standard' is validated to absent, so
   * configs from before this field, and ones that write it out, keep one
   * identity.
   */
  syntheticDifficulty: v.optional(
    v.pipe(
      v.picklist(SYNTHETIC_DIFFICULTIES),
      v.transform((difficulty) => (difficulty === 'standard' ? undefined : difficulty)),
    ),
  ),
});

/**
 * `model.channels`: output channels by conv layer name, e.g. {"conv_1": 12}.
 * Checked entry by entry here rather than with valibot's record, which drops
 * keys such as "__proto__" without a word: every key reaches the check
 * against the arch (parseConfig) and is refused by name there. It is handed
 * on as an object without a prototype, so no key from a config, link or file
 * can reach Object.prototype.
 */
const ChannelCountsSchema = v.pipe(
  v.custom<Record<string, unknown>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    'must be an object of conv layer names to output channel counts, e.g. {"conv_1": 12}',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [key, count] of Object.entries(dataset.value)) {
      // A supernet branch may have none left (it is gone); its stage keeps at least one.
      if (typeof count === 'number' && Number.isInteger(count) && count >= (isBranchName(key) ? 0 : 1)) continue;
      addIssue({
        message: `must be a whole number of output channels, at least ${isBranchName(key) ? 0 : 1}, got ${JSON.stringify(count) ?? String(count)}`,
        path: [{ type: 'object', origin: 'value', input: dataset.value, key, value: count }],
      });
    }
  }),
  v.transform((value) => {
    const counts: Record<string, number> = Object.create(null);
    for (const [key, count] of Object.entries(value)) counts[key] = count as number;
    return counts;
  }),
);

const ModelSchema = v.strictObject({
  arch: v.optional(v.picklist(ARCHS), 'conv-2'),
  width: v.optional(v.pipe(v.number(), v.minValue(0.01), v.maxValue(4)), 1),
  /** Output channels per conv layer, overriding the width-scaled count of the layers it names (a slim network). */
  channels: v.optional(ChannelCountsSchema),
  /** A supernet (SuperTickets): every conv stage runs parallel branches of these odd kernel sizes, summed; BatchNorm archs only. */
  branches: v.optional(v.array(v.pipe(v.number(), v.integer()))),
});

const TrainSchema = v.strictObject({
  optimizer: v.optional(v.picklist(['adam', 'sgd']), 'adam'),
  lr: v.optional(v.pipe(v.number(), v.gtValue(0)), 2e-4),
  momentum: v.optional(fraction, 0.9),
  weightDecay: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
  batchSize: v.optional(positiveInt, 60),
  /** Either iterations or epochs; iterations win when both are given. */
  iterations: v.optional(positiveInt),
  epochs: v.optional(positiveInt),
  evalEvery: v.optional(positiveInt, 100),
  /** Multiply the learning rate by `lrDecay` at each listed epoch (SGD schedules such as EarlyBird's 80/120). */
  lrDecayEpochs: v.optional(v.array(positiveInt), []),
  lrDecay: v.optional(v.pipe(v.number(), v.gtValue(0)), 0.1),
});

const RateSchema = v.strictObject({
  conv: v.optional(openFraction),
  dense: v.optional(openFraction),
  output: v.optional(openFraction),
});

const PruneSchema = v.strictObject({
  strategy: v.optional(v.picklist(['layerwise', 'global']), 'layerwise'),
  /** Per-layer-type rates for layer-wise pruning; missing ones take the paper's rate for the arch. */
  rate: v.optional(RateSchema, {}),
  /** Global pruning: fraction of surviving unignored weights removed per round (open_lth default 0.2). */
  fraction: v.optional(openFraction, 0.2),
  /** Global pruning: layer names left dense; default is the output layer. */
  ignore: v.optional(v.array(v.string())),
  rounds: v.optional(nonNegativeInt, 5),
  /** 0 resets to the initialisation (original LTH); k > 0 rewinds to iteration k of round 0. */
  rewindIteration: v.optional(nonNegativeInt, 0),
  /** One-shot: a single pruning step straight to this sparsity (fraction of prunable weights removed). */
  oneShotSparsity: v.optional(openFraction),
});

const ControlsSchema = v.array(v.picklist(['randomReinit', 'randomPrune']));

const HEAD_ENTRIES = {
  version: v.optional(v.literal(CONFIG_VERSION), CONFIG_VERSION),
  name: v.optional(v.pipe(v.string(), v.minLength(1)), 'experiment'),
  /** Free text: what the experiment is and how it was scaled from the paper. */
  description: v.optional(v.string()),
};

/** The blocks every method shares; each method's own block comes from its entry in the method registry. */
const SHARED_ENTRIES = {
  seed: v.optional(nonNegativeInt, 1),
  backend: v.optional(v.picklist(BACKENDS), 'auto'),
  data: v.optional(DataSchema, {}),
  model: v.optional(ModelSchema, {}),
  train: v.optional(TrainSchema, {}),
  /** Read by the methods that prune by magnitude rounds (imp, and colt's round bound). */
  prune: v.optional(PruneSchema, {}),
  /** The paper's random controls, run beside IMP's ticket. */
  controls: v.optional(ControlsSchema, []),
};

type MethodBlockEntries = { [Name in BlockMethodName]: v.OptionalSchema<NonNullable<MethodRegistry[Name]['schema']>, {}> };
type ConfigEntries = typeof HEAD_ENTRIES & typeof SHARED_ENTRIES & { method: v.OptionalSchema<v.PicklistSchema<MethodName[], undefined>, 'dense'> } & MethodBlockEntries;
type ExperimentConfigSchema = v.StrictObjectSchema<ConfigEntries, undefined>;

let configSchema: ExperimentConfigSchema | null = null;

/**
 * The whole schema: the shared blocks, `method` from the registry's names and
 * one block per method that has one, defaulting to its defaults. Built on
 * first use: the registry's methods import this module.
 */
export function experimentConfigSchema(): ExperimentConfigSchema {
  configSchema ??= v.strictObject({
    ...HEAD_ENTRIES,
    method: v.optional(v.picklist(METHODS), 'dense'),
    ...SHARED_ENTRIES,
    ...(Object.fromEntries(
      Object.values(METHOD_REGISTRY).flatMap((method) => (method.schema ? [[method.name, v.optional(method.schema, {})]] : [])),
    ) as MethodBlockEntries),
  }) as ExperimentConfigSchema;
  return configSchema;
}

/** A config as written by a user: every field optional. */
export type ExperimentConfigInput = v.InferInput<ExperimentConfigSchema>;
/** A validated config with every default filled in. */
export type ExperimentConfig = v.InferOutput<ExperimentConfigSchema>;
export type DataConfig = ExperimentConfig['data'];
export type TrainConfig = ExperimentConfig['train'];
export type PruneConfig = ExperimentConfig['prune'];

export { ConfigError };

/**
 * The dot path of the first number in `value` that is not finite, or null.
 * JSON turns `1e999` into Infinity, which every range check above lets
 * through (it is "greater than 0"), and training on it gives NaN losses; this
 * pass covers every field, including ones a method block adds later.
 */
function firstNonFinite(value: unknown, path: string): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path || '(config)';
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, entry] of Object.entries(value)) {
    const found = firstNonFinite(entry, Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return null;
}

/** Validates and fills defaults; throws ConfigError naming the first bad field. */
export function parseConfig(input: unknown): ExperimentConfig {
  const nonFinite = firstNonFinite(input, '');
  if (nonFinite) {
    throw new ConfigError(`Invalid experiment config: ${nonFinite}: must be a finite number (a value such as 1e999 reads as Infinity)`);
  }
  const result = v.safeParse(experimentConfigSchema(), input);
  if (!result.success) {
    const messages = result.issues.slice(0, 3).map((issue) => {
      const path = v.getDotPath(issue) ?? '(config)';
      return `${path}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid experiment config: ${messages.join('; ')}`);
  }
  const config = result.output;
  if (config.data.source !== 'synthetic' && !config.data.dir && !config.data.archive) {
    throw new ConfigError(`Invalid experiment config: data.dir: source "${config.data.source}" needs a data folder`);
  }
  if (config.data.classes) checkClassList('data.classes', config.data.classes, config.data);
  const branches = kernelSizesProblem(config.model.branches);
  if (branches) throw new ConfigError(`Invalid experiment config: ${branches}`);
  const channels = config.model.channels && channelCountsProblem(config.model.arch, config.model.channels, config.model.branches);
  if (channels) throw new ConfigError(`Invalid experiment config: model.channels.${channels.key}: ${channels.message}`);
  return config;
}

/** Training length in iterations, from `iterations` or `epochs` of the training set. */
export function totalIterations(train: TrainConfig, trainSize: number): number {
  if (train.iterations !== undefined) return train.iterations;
  const epochs = train.epochs ?? 1;
  return epochs * Math.max(1, Math.ceil(trainSize / train.batchSize));
}
