/** "Search and prune at once: which kernel sizes survive?": SuperTickets' search on a 3x3/5x5 supernet, with regrowth against monotone masks. */
import file from '../../../experiments/presets/kernel-sizes.json' with { type: 'json' };
import { resultsOf, type RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { definePreset, ONE_SEED, seedOf } from './preset';

const EXPECTED =
  'Under the FLOP weighting a 5x5 channel is pushed 25/9 as hard as a 3x3 one, so the search is expected to cut more 5x5 channels; ' +
  'in regrow mode some pruned weights come back at the events after the target is reached, in monotone mode none do.';

export const KERNEL_SIZES = definePreset(file, {
  id: 'kernel-sizes',
  title: 'Search and prune at once: which kernel sizes survive?',
  lookFor:
    'The SuperTickets view draws the channels alive in each branch of each stage at every event, each arm’s accuracy against the FLOPs of its network, and the regrowth at each event. ' +
    EXPECTED,
  seeds: ONE_SEED,
  readRuns([results]: readonly RunResults[]): string {
    const out = resultsOf(results, 'supertickets').supertickets;
    const { twoInOne, monotone, randomMask } = out.arms;
    const kept = (k: number) => Object.values(twoInOne.channels).reduce((n, stage) => n + stage[`k${k}`], 0);
    const regrown = Math.max(0, ...twoInOne.events.map((e) => e.regrowth));
    return (
      `In your run (${seedOf(results)}) two-in-one kept ${out.branches.map((k) => `${kept(k)} ${k}x${k}`).join(' and ')} branch channels ` +
      `and reached ${formatPercent(twoInOne.testAccuracy)} at ${formatPercent(twoInOne.sparsity)} sparsity; ` +
      (monotone ? `monotone masks ${formatPercent(monotone.testAccuracy)}; ` : '') +
      (randomMask ? `a random mask on the searched architecture ${formatPercent(randomMask.testAccuracy)}. ` : '') +
      `The largest regrowth at an event was ${formatPercent(regrown)}${monotone ? ` (monotone: ${formatPercent(Math.max(0, ...monotone.events.map((e) => e.regrowth)))})` : ''}. ` +
      EXPECTED
    );
  },
});
