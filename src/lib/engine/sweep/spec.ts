/**
 * A sweep: one base config, the methods to compare, axes over config paths
 * and seeds, expanded into validated experiment configs (the hyperparameter
 * lottery, ../shared/reference/next-methods.md section 6).
 *
 * - A method ("arm") is a method name, or `{ name, method, set }` where `set`
 *   fixes some config paths for that arm (e.g. IMP with and without
 *   rewinding).
 * - An axis is a config path with a list of `values`, a `range` of evenly
 *   spaced points (linear or log), or a seeded `random` sample of n points;
 *   `methods` limits it to some arms (a method's own hyperparameters).
 * - Every axis path is checked against the config schema and every value is
 *   validated on the base config before anything runs; each expanded config
 *   is then validated whole.
 * - The default config of an arm is the grid point holding the base's own
 *   values; where the grid lacks it, that one point is added, so the
 *   "ranking at the default config" always has runs.
 */
import * as v from 'valibot';
import { ConfigError, METHODS, experimentConfigSchema, parseConfig, type ExperimentConfig, type MethodName } from '../config';
import { canonicalJson } from '../identity';
import { Rng, subSeed } from '../rng';

export const SWEEP_VERSION = 1;

/** A sweep of more runs than this needs confirmation (`--yes` on the CLI, a confirm in the page). */
export const CONFIRM_RUNS_ABOVE = 40;

/** Arm names become keys and labels: a short identifier, never a path or a prototype key. */
const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const finite = v.pipe(v.number(), v.finite());

const SampleSchema = {
  min: finite,
  max: finite,
  scale: v.optional(v.picklist(['linear', 'log']), 'linear'),
  /** Round each point to an integer (rewind iterations, segment counts); repeats are dropped. */
  integer: v.optional(v.boolean(), false),
};

const AxisSchema = v.strictObject({
  path: v.pipe(v.string(), v.minLength(1)),
  values: v.optional(v.pipe(v.array(v.unknown()), v.minLength(1))),
  /** `steps` evenly spaced points from min to max, both included. */
  range: v.optional(v.strictObject({ ...SampleSchema, steps: v.pipe(v.number(), v.integer(), v.minValue(2)) })),
  /** `n` points drawn uniformly (on the scale) from [min, max], from the sweep's `sampleSeed`. */
  random: v.optional(v.strictObject({ ...SampleSchema, n: v.pipe(v.number(), v.integer(), v.minValue(1)) })),
  /** The arms this axis applies to; all of them when absent. */
  methods: v.optional(v.pipe(v.array(v.string()), v.minLength(1))),
});

const ArmSchema = v.union([
  v.string(),
  v.strictObject({
    name: v.string(),
    method: v.string(),
    /** Config paths fixed for this arm: `{ "prune.rewindIteration": 0 }`. */
    set: v.optional(v.record(v.string(), v.unknown()), {}),
  }),
]);

export const SweepSchema = v.strictObject({
  version: v.optional(v.literal(SWEEP_VERSION), SWEEP_VERSION),
  name: v.optional(v.pipe(v.string(), v.minLength(1)), 'sweep'),
  description: v.optional(v.string()),
  base: v.record(v.string(), v.unknown()),
  methods: v.optional(v.pipe(v.array(ArmSchema), v.minLength(1))),
  axes: v.optional(v.array(AxisSchema), []),
  seeds: v.optional(v.pipe(v.array(nonNegativeInt), v.minLength(1)), [1]),
  /** Seeds the `random` axes' draws. */
  sampleSeed: v.optional(nonNegativeInt, 1),
  /** The outcome compared: test accuracy of the main series at the end, or at the round nearest `remaining` (fraction of weights left). */
  metric: v.optional(
    v.strictObject({
      remaining: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(1))),
      /** Test accuracy at the early-stop iteration instead of at the end of training. */
      earlyStop: v.optional(v.boolean(), false),
    }),
    {},
  ),
});

export type SweepInput = v.InferInput<typeof SweepSchema>;
type SweepParsed = v.InferOutput<typeof SweepSchema>;
export type SweepMetric = SweepParsed['metric'];

export interface SweepArm {
  name: string;
  method: MethodName;
  set: Record<string, unknown>;
}

export interface SweepAxis {
  path: string;
  /** The values run, after sampling. */
  values: unknown[];
  /** Arm names it applies to. */
  methods: string[];
}

export interface SweepSpec {
  name: string;
  description?: string;
  base: Record<string, unknown>;
  arms: SweepArm[];
  axes: SweepAxis[];
  seeds: number[];
  metric: SweepMetric;
}

export interface SweepRun {
  arm: string;
  /** Axis path -> value for this run (the arm's axes only). */
  values: Record<string, unknown>;
  seed: number;
  /** This run holds the base config's own values. */
  isDefault: boolean;
  config: ExperimentConfig;
}

/** Fields a sweep sets in its own way, or that do not change what a run computes. */
const RESERVED_PATHS: Record<string, string> = {
  seed: 'list the seeds in "seeds"',
  method: 'list the methods in "methods"',
  name: 'it does not change what a run computes',
  description: 'it does not change what a run computes',
  backend: 'it does not change what a run computes',
  version: 'it is the config format',
};

function fail(message: string): never {
  throw new ConfigError(`Invalid sweep: ${message}`);
}

/** The valibot schema under an object/optional/pipe wrapper, as far as paths go. */
function unwrap(schema: v.GenericSchema): v.GenericSchema {
  let current = schema as v.GenericSchema & { wrapped?: v.GenericSchema };
  while (current.type === 'optional' || current.type === 'nullable' || current.type === 'nullish') current = current.wrapped as typeof current;
  return current;
}

/** Throws naming the first segment of `path` that the config schema lacks. */
export function checkConfigPath(path: string, where: string): void {
  if (Object.hasOwn(RESERVED_PATHS, path)) fail(`${where}: "${path}" cannot be swept (${RESERVED_PATHS[path]})`);
  const segments = path.split('.');
  let schema = unwrap(experimentConfigSchema() as unknown as v.GenericSchema);
  for (let i = 0; i < segments.length; i++) {
    const entries = (schema as { entries?: Record<string, v.GenericSchema> }).entries;
    const so = segments.slice(0, i).join('.') || 'the config';
    if (!entries) fail(`${where}: "${path}": ${so} is a value, not a block with fields`);
    if (!Object.hasOwn(entries, segments[i])) {
      fail(`${where}: "${path}": ${so} has no field "${segments[i]}" (its fields: ${Object.keys(entries).join(', ')})`);
    }
    schema = unwrap(entries[segments[i]]);
  }
}

/** A copy of `config` with `path` set to `value` (paths checked by checkConfigPath first). */
export function withPath(config: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...config, [head]: value };
  const inner = config[head];
  const block = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
  return { ...config, [head]: withPath(block, rest.join('.'), value) };
}

/** The value at `path` in a config, undefined where a block is missing. */
export function atPath(config: unknown, path: string): unknown {
  let current = config;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Three significant digits: sampled learning rates read as 0.00123, not 0.0012345678. */
function tidy(x: number): number {
  return Number(x.toPrecision(3));
}

function samplePoints(
  axis: { min: number; max: number; scale: 'linear' | 'log'; integer: boolean },
  count: number,
  position: (i: number) => number,
  where: string,
): number[] {
  if (axis.max < axis.min) fail(`${where}: max ${axis.max} is below min ${axis.min}`);
  if (axis.scale === 'log' && axis.min <= 0) fail(`${where}: a log scale needs min > 0, not ${axis.min}`);
  const points: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = position(i);
    const x = axis.scale === 'log' ? Math.exp(Math.log(axis.min) + t * (Math.log(axis.max) - Math.log(axis.min))) : axis.min + t * (axis.max - axis.min);
    const point = axis.integer ? Math.round(x) : tidy(x);
    if (!points.includes(point)) points.push(point);
  }
  return points;
}

/** The values an axis runs: its list, its range's points, or its seeded random draws. */
export function axisValues(axis: SweepParsed['axes'][number], sampleSeed: number, where: string): unknown[] {
  const given = [axis.values, axis.range, axis.random].filter((x) => x !== undefined).length;
  if (given !== 1) fail(`${where} ("${axis.path}"): give exactly one of "values", "range" or "random"`);
  if (axis.values) return axis.values;
  if (axis.range) {
    const { steps } = axis.range;
    return samplePoints(axis.range, steps, (i) => i / (steps - 1), `${where}.range`);
  }
  const random = axis.random!;
  // Each axis draws from its own stream, so adding an axis leaves the others' draws as they were.
  const rng = new Rng(subSeed(sampleSeed, `sweep-axis:${axis.path}`));
  return samplePoints(random, random.n, () => rng.next(), `${where}.random`);
}

function parseArms(parsed: SweepParsed): SweepArm[] {
  const baseMethod = typeof parsed.base.method === 'string' ? parsed.base.method : 'dense';
  const arms = (parsed.methods ?? [baseMethod]).map((arm, i): SweepArm => {
    const { name, method, set } = typeof arm === 'string' ? { name: arm, method: arm, set: {} } : arm;
    if (!ARM_NAME.test(name)) fail(`methods[${i}]: name ${JSON.stringify(name)} must be 1-40 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    if (!(METHODS as string[]).includes(method)) fail(`methods[${i}]: unknown method ${JSON.stringify(method)}; the methods: ${METHODS.join(', ')}`);
    for (const path of Object.keys(set)) checkConfigPath(path, `methods[${i}].set`);
    return { name, method: method as MethodName, set };
  });
  const names = arms.map((arm) => arm.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) fail(`methods: "${repeated}" is listed twice; give each arm its own name`);
  return arms;
}

/** Validates a sweep file's object; throws ConfigError naming the first bad field, axis path or value. */
export function parseSweep(input: unknown): SweepSpec {
  const result = v.safeParse(SweepSchema, input);
  if (!result.success) {
    const messages = result.issues.slice(0, 3).map((issue) => `${v.getDotPath(issue) ?? '(sweep)'}: ${issue.message}`);
    fail(messages.join('; '));
  }
  const parsed = result.output;
  const arms = parseArms(parsed);
  const base = parsed.base;
  try {
    parseConfig(base);
  } catch (error) {
    fail(`base: ${(error as Error).message}`);
  }
  const armNames = arms.map((arm) => arm.name);
  const axes = parsed.axes.map((axis, i): SweepAxis => {
    const where = `axes[${i}]`;
    checkConfigPath(axis.path, where);
    for (const name of axis.methods ?? []) {
      if (!armNames.includes(name)) fail(`${where} ("${axis.path}"): methods lists "${name}", which is not one of the sweep's methods (${armNames.join(', ')})`);
    }
    const methods = axis.methods ?? armNames;
    const values = axisValues(axis, parsed.sampleSeed, where);
    // Each value alone on each arm's base, so a bad one is named before any combination is tried.
    for (const value of values) {
      for (const arm of arms.filter((a) => methods.includes(a.name))) {
        try {
          parseConfig(withPath(armBase(base, arm), axis.path, value));
        } catch (error) {
          fail(`${where}: ${axis.path} = ${JSON.stringify(value)} is refused (method ${arm.name}): ${(error as Error).message}`);
        }
      }
    }
    return { path: axis.path, values, methods };
  });
  axes.forEach((axis, i) => {
    const earlier = axes.slice(0, i).find((other) => other.path === axis.path && other.methods.some((m) => axis.methods.includes(m)));
    if (earlier) fail(`axes[${i}]: "${axis.path}" is already swept for the same method by an earlier axis`);
  });
  return { name: parsed.name, description: parsed.description, base, arms, axes, seeds: parsed.seeds, metric: parsed.metric };
}

/** The base config as one arm runs it: its method and its fixed paths. */
function armBase(base: Record<string, unknown>, arm: SweepArm): Record<string, unknown> {
  let config: Record<string, unknown> = { ...base, method: arm.method };
  for (const [path, value] of Object.entries(arm.set)) config = withPath(config, path, value);
  return config;
}

/** Every combination of the axes' values, first axis slowest. */
function grid(axes: SweepAxis[]): Record<string, unknown>[] {
  return axes.reduce<Record<string, unknown>[]>(
    (points, axis) => points.flatMap((point) => axis.values.map((value) => ({ ...point, [axis.path]: value }))),
    [{}],
  );
}

/** Every run of the sweep, arm by arm, point by point, seed by seed; each config validated. */
export function expandSweep(spec: SweepSpec): SweepRun[] {
  const runs: SweepRun[] = [];
  for (const arm of spec.arms) {
    const base = armBase(spec.base, arm);
    const axes = spec.axes.filter((axis) => axis.methods.includes(arm.name));
    const filled = parseConfig(base);
    const defaults = Object.fromEntries(axes.map((axis) => [axis.path, atPath(filled, axis.path)]));
    const points = grid(axes);
    const defaultText = canonicalJson(defaults);
    if (!points.some((point) => canonicalJson(point) === defaultText)) points.unshift(defaults);
    for (const point of points) {
      const isDefault = canonicalJson(point) === defaultText;
      for (const seed of spec.seeds) {
        let raw: Record<string, unknown> = { ...base, seed, name: `${spec.name}: ${arm.name}` };
        for (const [path, value] of Object.entries(point)) raw = withPath(raw, path, value);
        let config: ExperimentConfig;
        try {
          config = parseConfig(raw);
        } catch (error) {
          const where = Object.entries(point).map(([path, value]) => `${path} = ${JSON.stringify(value)}`).join(', ') || 'the base values';
          fail(`method ${arm.name} at ${where}: ${(error as Error).message}`);
        }
        runs.push({ arm: arm.name, values: point, seed, isDefault, config });
      }
    }
  }
  return runs;
}
