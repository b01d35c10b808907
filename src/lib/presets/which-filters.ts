/** "Which filters does a new task need?": KS-Lottery's selections against head-only and full fine-tuning on a class-split transfer, over the preset's seeds. */
import file from '../../../experiments/presets/which-filters.json' with { type: 'json' };
import type { ArmPoint, KsLotteryResults } from '../engine/methods/kslottery/results';
import { resultsOf, type RunResults } from '../engine/results';
import { BANDS_OVERLAP, compareBands, definePreset, formatCountSpread, formatPoints, formatSpread, noiseMargin, oneSeedNote, seedsOf, SPREAD_NOTE, spreadOf } from './preset';

const SEEDS = [1, 2, 3];

const EXPECTED =
  'KS-Lottery’s claim is that tuning only the rows whose value distribution moved most in a short probe comes close to full fine-tuning. ' +
  'Head-only tuning is the floor, full fine-tuning the ceiling; KS rows should beat random rows at the same budget. ' +
  'The size of a row’s change (L2) is the control that asks whether the distribution test adds anything: the KS test cannot see a row whose values only swapped places.';

const RULES = ['ks', 'l2', 'random'] as const;
const RULE_NAMES = { ks: 'KS', l2: 'L2', random: 'random' } as const;

/** A rule's selection at the largest K of the sweep. */
function largest(points: ArmPoint[]): ArmPoint {
  return points.reduce((best, p) => (p.k > best.k ? p : best));
}

/** One seed: the gap between the two best rules, weighed against the noise of the target test set. */
function againstTestNoise(out: KsLotteryResults): string {
  const at = { ks: largest(out.arms.ks), l2: largest(out.arms.l2), random: largest(out.arms.random) };
  const [winner, runnerUp] = [...RULES].sort((a, b) => at[b].partialTuning - at[a].partialTuning);
  const margin = noiseMargin(at[winner].partialTuning, at[runnerUp].partialTuning, out.targetTestImages);
  const gap = at[winner].partialTuning - at[runnerUp].partialTuning;
  return (
    `On ${out.targetTestImages.toLocaleString('en-US')} target test images a gap under about ${formatPoints(margin)} is within the noise: ` +
    (gap > margin ? `${RULE_NAMES[winner]} rows won by more than that.` : `${RULE_NAMES[winner]} rows came first, but not by more than that.`)
  );
}

/** KS rows' band against another rule's, at the largest K, in words. */
function ksAgainst(ks: ReturnType<typeof spreadOf>, other: ReturnType<typeof spreadOf>, label: string): string {
  const where = compareBands(ks, other);
  if (where === 'above') return `KS rows beat ${label} beyond the seed spread`;
  if (where === 'below') return `${label} beat KS rows beyond the seed spread`;
  return `KS rows and ${label}: ${BANDS_OVERLAP}`;
}

export const WHICH_FILTERS = definePreset(file, {
  id: 'which-filters',
  title: 'Which filters does a new task need?',
  lookFor:
    'The accuracy-against-K view draws partial tuning for rows chosen by the KS test, by the size of their change, and at random, between head-only and full fine-tuning; the rows view shows how many rows the test calls significant in each layer. ' +
    EXPECTED,
  seeds: SEEDS,
  readRuns(runs: readonly RunResults[]): string {
    const outs = runs.map((run) => resultsOf(run, 'kslottery').kslottery);
    const [first] = outs;
    const tuned = (rule: (typeof RULES)[number]) => spreadOf(outs.map((out) => largest(out.arms[rule]).partialTuning));
    const at = { ks: tuned('ks'), l2: tuned('l2'), random: tuned('random') };
    const numbers =
      `In your run (${seedsOf(runs)}) ${formatCountSpread(spreadOf(outs.map((out) => out.rowsSignificant)))} of ${first.rowsTotal} rows had p < ${first.alpha}. ` +
      `Head only reached ${formatSpread(spreadOf(outs.map((out) => out.arms.headOnly)))}, full fine-tuning ${formatSpread(spreadOf(outs.map((out) => out.arms.full)))}; ` +
      `tuning ${largest(first.arms.ks).k} rows chosen by KS reached ${formatSpread(at.ks)}, by L2 change ${formatSpread(at.l2)}, at random ${formatSpread(at.random)}` +
      `${runs.length > 1 ? ` (${SPREAD_NOTE})` : ''}.`;
    if (runs.length === 1) return `${numbers} ${againstTestNoise(first)} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    return `${numbers} At ${largest(first.arms.ks).k} rows ${ksAgainst(at.ks, at.random, 'random rows')}; ${ksAgainst(at.ks, at.l2, 'L2 rows')}. ${EXPECTED}`;
  },
});
