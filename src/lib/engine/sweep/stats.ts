/**
 * What a sweep shows: each method's outcomes split into seed spread and
 * hyperparameter spread, its ranking at the default, median and best config
 * (with the flips in words), the expected best after n random draws, and
 * pairwise win probabilities beside the gap between tuned bests.
 *
 * Everything here is exact arithmetic over the finished runs, so the same
 * runs always give the same summary:
 * - the expected best after n draws is the bootstrap's expectation of the
 *   maximum of n runs drawn with replacement, computed in closed form
 *   (with the runs sorted, P(max <= x_(i)) = (i/N)^n) rather than by
 *   resampling, so it carries no resampling noise;
 * - P(A beats B) counts every pair of one A run and one B run (ties count a
 *   half): the chance that a random (config, seed) of A beats one of B.
 */
import { canonicalJson } from '../identity';

/** One finished run of a sweep, reduced to what the statistics need. */
export interface SweepOutcome {
  arm: string;
  values: Record<string, unknown>;
  seed: number;
  isDefault: boolean;
  /** The sweep's metric (test accuracy, 0-1). */
  metric: number;
}

export interface ConfigOutcome {
  values: Record<string, unknown>;
  isDefault: boolean;
  /** The metric of each seed, in the order the runs came. */
  metrics: number[];
  mean: number;
}

export interface ArmDistribution {
  method: string;
  runs: number;
  configs: ConfigOutcome[];
  mean: number;
  min: number;
  max: number;
  /** Pooled standard deviation of runs about their config's mean: the luck of the seed. Null without a config of 2+ seeds. */
  seedSpread: number | null;
  /** Standard deviation of the config means: what the hyperparameters move. Null with fewer than 2 configs. */
  hyperSpread: number | null;
}

export interface RankEntry {
  method: string;
  metric: number;
  /** The config this value comes from (null for the median of an even number of configs, which lies between two). */
  values: Record<string, unknown> | null;
}

export type RankingView = 'default' | 'median' | 'best';
export const RANKING_VIEWS: readonly RankingView[] = ['default', 'median', 'best'];

export interface Rankings {
  default: RankEntry[];
  median: RankEntry[];
  best: RankEntry[];
  /** One sentence per pair of methods whose order differs between views; empty when none does. */
  flips: string[];
  /** The rankings in words, flips included. */
  text: string;
}

export interface PairwiseEntry {
  a: string;
  b: string;
  /** P(a random run of a beats a random run of b), ties counting a half. */
  pAWins: number;
  /** a's best config mean minus b's. */
  tunedGap: number;
}

export interface SweepSummary {
  distributions: ArmDistribution[];
  rankings: Rankings;
  /** Method -> expected best metric after n = 1, 2, ... draws (index n - 1). */
  expectedBest: Record<string, number[]>;
  pairwise: PairwiseEntry[];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => sum(xs) / xs.length;

/** Sample standard deviation (n - 1); null for fewer than two values. */
export function sampleSd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(sum(xs.map((x) => (x - m) ** 2)) / (xs.length - 1));
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs of one arm grouped by config (axis values), in the order the configs first appear. */
export function configOutcomes(outcomes: readonly SweepOutcome[]): ConfigOutcome[] {
  const byConfig = new Map<string, ConfigOutcome>();
  for (const run of outcomes) {
    const key = canonicalJson(run.values);
    const config = byConfig.get(key) ?? { values: run.values, isDefault: run.isDefault, metrics: [], mean: 0 };
    config.metrics.push(run.metric);
    byConfig.set(key, config);
  }
  return [...byConfig.values()].map((config) => ({ ...config, mean: mean(config.metrics) }));
}

export function armDistribution(method: string, outcomes: readonly SweepOutcome[]): ArmDistribution {
  const configs = configOutcomes(outcomes);
  const metrics = outcomes.map((run) => run.metric);
  const within = configs.flatMap((config) => config.metrics.map((x) => (x - config.mean) ** 2));
  const freedom = sum(configs.map((config) => config.metrics.length - 1));
  return {
    method,
    runs: outcomes.length,
    configs,
    mean: mean(metrics),
    min: Math.min(...metrics),
    max: Math.max(...metrics),
    seedSpread: freedom > 0 ? Math.sqrt(sum(within) / freedom) : null,
    hyperSpread: sampleSd(configs.map((config) => config.mean)),
  };
}

/**
 * E[max of n draws with replacement] from `values`, for n = 1..maxN: with the
 * values sorted ascending, the maximum is x_(i) with probability
 * (i/N)^n - ((i-1)/N)^n.
 */
export function expectedBestCurve(values: readonly number[], maxN: number): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const curve: number[] = [];
  for (let n = 1; n <= maxN; n++) {
    let expected = 0;
    for (let i = 1; i <= count; i++) expected += sorted[i - 1] * ((i / count) ** n - ((i - 1) / count) ** n);
    curve.push(expected);
  }
  return curve;
}

/** P(a random value of `a` beats a random value of `b`) over all pairs, ties counting a half. */
export function winProbability(a: readonly number[], b: readonly number[]): number {
  let wins = 0;
  for (const x of a) for (const y of b) wins += x > y ? 1 : x === y ? 0.5 : 0;
  return wins / (a.length * b.length);
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

function rankEntries(distributions: readonly ArmDistribution[], view: RankingView): RankEntry[] {
  const entries = distributions.flatMap((arm): RankEntry[] => {
    if (view === 'default') {
      const found = arm.configs.find((config) => config.isDefault);
      return found ? [{ method: arm.method, metric: found.mean, values: found.values }] : [];
    }
    if (view === 'best') {
      const best = arm.configs.reduce((a, b) => (b.mean > a.mean ? b : a));
      return [{ method: arm.method, metric: best.mean, values: best.values }];
    }
    const means = arm.configs.map((config) => config.mean);
    const value = median(means);
    const at = arm.configs.find((config) => config.mean === value);
    return [{ method: arm.method, metric: value, values: at?.values ?? null }];
  });
  // A stable sort keeps the sweep's method order among ties.
  return entries.sort((x, y) => y.metric - x.metric);
}

const VIEW_WORDS: Record<RankingView, string> = { default: 'the default config', median: 'the median config', best: 'the best (tuned) config' };

function order(entries: readonly RankEntry[]): string {
  return entries.map((entry) => `${entry.method} ${percent(entry.metric)}`).join(' > ');
}

/** Sentences for each pair of methods whose order is not the same at every view. */
function flipSentences(rankings: Record<RankingView, RankEntry[]>, methods: readonly string[]): string[] {
  const sentences: string[] = [];
  for (let i = 0; i < methods.length; i++) {
    for (let j = i + 1; j < methods.length; j++) {
      const [a, b] = [methods[i], methods[j]];
      const states = RANKING_VIEWS.flatMap((view) => {
        const x = rankings[view].find((entry) => entry.method === a);
        const y = rankings[view].find((entry) => entry.method === b);
        return x && y ? [{ view, sign: Math.sign(x.metric - y.metric), x: x.metric, y: y.metric }] : [];
      });
      if (new Set(states.map((state) => state.sign)).size < 2) continue;
      const words = (sign: number) => (sign > 0 ? 'ahead of' : sign < 0 ? 'behind' : 'level with');
      const parts = states.map((state) => `${words(state.sign)} ${b} at ${VIEW_WORDS[state.view]} (${percent(state.x)} vs ${percent(state.y)})`);
      sentences.push(`The ranking flips: ${a} is ${parts.join(', ')}.`);
    }
  }
  return sentences;
}

export function rankings(distributions: readonly ArmDistribution[]): Rankings {
  const views = { default: rankEntries(distributions, 'default'), median: rankEntries(distributions, 'median'), best: rankEntries(distributions, 'best') };
  const flips = flipSentences(views, distributions.map((arm) => arm.method));
  const lines = RANKING_VIEWS.map((view) => `At ${VIEW_WORDS[view]}: ${views[view].length ? order(views[view]) : 'no finished runs'}.`);
  const verdict =
    distributions.length < 2
      ? 'One method: nothing to rank.'
      : flips.length
        ? flips.join(' ')
        : 'No ranking flips: the methods keep the same order at the default, median and best config.';
  return { ...views, flips, text: [...lines, verdict].join(' ') };
}

/** The summary of a sweep's finished runs, methods in the sweep's order (those with no finished run are left out). */
export function summarizeSweep(outcomes: readonly SweepOutcome[], methods: readonly string[]): SweepSummary {
  const byArm = methods.map((method) => outcomes.filter((run) => run.arm === method)).filter((runs) => runs.length > 0);
  const distributions = byArm.map((runs) => armDistribution(runs[0].arm, runs));
  const maxDraws = Math.max(0, ...byArm.map((runs) => runs.length));
  const expectedBest = Object.fromEntries(byArm.map((runs) => [runs[0].arm, expectedBestCurve(runs.map((run) => run.metric), maxDraws)]));
  const pairwise: PairwiseEntry[] = [];
  for (let i = 0; i < distributions.length; i++) {
    for (let j = i + 1; j < distributions.length; j++) {
      const [a, b] = [distributions[i], distributions[j]];
      const metrics = (arm: ArmDistribution) => arm.configs.flatMap((config) => config.metrics);
      const best = (arm: ArmDistribution) => Math.max(...arm.configs.map((config) => config.mean));
      pairwise.push({ a: a.method, b: b.method, pAWins: winProbability(metrics(a), metrics(b)), tunedGap: best(a) - best(b) });
    }
  }
  return { distributions, rankings: rankings(distributions), expectedBest, pairwise };
}
