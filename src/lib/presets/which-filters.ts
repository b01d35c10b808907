/** "Which filters does a new task need?": KS-Lottery's selections against head-only and full fine-tuning on a class-split transfer. */
import file from '../../../experiments/presets/which-filters.json' with { type: 'json' };
import type { ArmPoint } from '../engine/methods/kslottery/results';
import { resultsOf, type RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { definePreset, formatPoints, noiseMargin, ONE_SEED, seedOf } from './preset';

const EXPECTED =
  'KS-Lottery’s claim is that tuning only the rows whose value distribution moved most in a short probe comes close to full fine-tuning. ' +
  'Head-only tuning is the floor, full fine-tuning the ceiling; KS rows should beat random rows at the same budget. ' +
  'The size of a row’s change (L2) is the control that asks whether the distribution test adds anything: the KS test cannot see a row whose values only swapped places.';

const RULE_NAMES = { ks: 'KS', l2: 'L2', random: 'random' } as const;

export const WHICH_FILTERS = definePreset(file, {
  id: 'which-filters',
  title: 'Which filters does a new task need?',
  lookFor:
    'The accuracy-against-K view draws partial tuning for rows chosen by the KS test, by the size of their change, and at random, between head-only and full fine-tuning; the rows view shows how many rows the test calls significant in each layer. ' +
    EXPECTED,
  // One seed: the reading weighs the gaps against the noise of the test set.
  seeds: ONE_SEED,
  readRuns([results]: readonly RunResults[]): string {
    const out = resultsOf(results, 'kslottery').kslottery;
    const largest = (points: ArmPoint[]) => points.reduce((best, p) => (p.k > best.k ? p : best));
    const at = { ks: largest(out.arms.ks), l2: largest(out.arms.l2), random: largest(out.arms.random) };
    const winner = (Object.keys(at) as (keyof typeof at)[]).reduce((best, rule) => (at[rule].partialTuning > at[best].partialTuning ? rule : best));
    const runnerUp = (Object.keys(at) as (keyof typeof at)[]).filter((r) => r !== winner).reduce((best, rule) => (at[rule].partialTuning > at[best].partialTuning ? rule : best));
    const margin = noiseMargin(at[winner].partialTuning, at[runnerUp].partialTuning, out.targetTestImages);
    const gap = at[winner].partialTuning - at[runnerUp].partialTuning;
    return (
      `In your run (${seedOf(results)}) ${out.rowsSignificant} of ${out.rowsTotal} rows had p < ${out.alpha}. ` +
      `Head only reached ${formatPercent(out.arms.headOnly)}, full fine-tuning ${formatPercent(out.arms.full)}; ` +
      `tuning ${at.ks.k} rows chosen by KS reached ${formatPercent(at.ks.partialTuning)}, by L2 change ${formatPercent(at.l2.partialTuning)}, at random ${formatPercent(at.random.partialTuning)}. ` +
      `On ${out.targetTestImages.toLocaleString('en-US')} target test images a gap under about ${formatPoints(margin)} is within the noise: ` +
      (gap > margin ? `${RULE_NAMES[winner]} rows won by more than that. ` : `${RULE_NAMES[winner]} rows came first, but not by more than that. `) +
      EXPECTED
    );
  },
});
