/** "Is there a good network hidden in a random one?": edge-popup's searched mask against a random mask of the same k and chance, over the preset's seeds. */
import file from '../../../experiments/presets/hidden-network.json' with { type: 'json' };
import type { EdgePopupResults } from '../engine/methods/edgepopup/results';
import { resultsOf, type RunResults } from '../engine/results';
import { BANDS_OVERLAP, chance, compareBands, definePreset, formatPoints, formatSpread, noiseMargin, oneSeedNote, seedsOf, SPREAD_NOTE, spreadOf, type Spread } from './preset';

const SEEDS = [1, 2, 3];

const EXPECTED =
  'The strong-ticket claim is that a random network holds a subnetwork far above chance that no weight training made: the searched mask should beat chance by a wide margin ' +
  'while a random mask of the same size in the same random network stays near chance.';

/** One seed: the ticket against chance, weighed by the noise of its test set. */
function againstTestNoise(results: RunResults, ticket: number): string {
  const margin = noiseMargin(ticket, 1 / results.dataset.classes, results.dataset.test);
  return (
    `On ${results.dataset.test.toLocaleString('en-US')} test images a gap under about ${formatPoints(margin)} is within the noise: the ticket is ` +
    (ticket - 1 / results.dataset.classes > margin ? 'above chance by more than that.' : 'not clearly above chance in this run.')
  );
}

/** The searched mask's band against the random mask's band and against chance, in words. */
function verdict(k: number, ticket: Spread, randomMask: Spread, chanceLevel: number): string {
  const where = compareBands(ticket, randomMask);
  const againstMask =
    where === 'above'
      ? `the searched mask's band lies above the random mask's, by ${formatPoints(ticket.mean - randomMask.mean)} in the mean`
      : where === 'below'
        ? "the searched mask's band lies below the random mask's"
        : `the searched mask's band and the random mask's: ${BANDS_OVERLAP}`;
  const againstChance =
    ticket.min > chanceLevel
      ? `every seed's searched mask is above chance (the lowest ${formatPoints(ticket.min - chanceLevel)} above)`
      : `not every seed's searched mask is above chance: the band reaches down to chance here, so more epochs or seeds would tell`;
  return `At k = ${k} ${againstMask}; ${againstChance}.`;
}

export const HIDDEN_NETWORK = definePreset(file, {
  id: 'hidden-network',
  title: 'Is there a good network hidden in a random one?',
  lookFor:
    'The accuracy chart draws the searched mask as the mean over the seeds with its band; the accuracy-vs-k view of the run in view sets it against a random mask of the same k (dashed) and chance, and the mask-change view shows the search settling. ' +
    EXPECTED,
  seeds: SEEDS,
  readRuns(runs: readonly RunResults[]): string {
    const outs: EdgePopupResults[] = runs.map((run) => resultsOf(run, 'edgepopup').edgepopup);
    const [first] = outs;
    const ticketK = first.searches[0].k;
    const ticket = spreadOf(outs.map((out) => out.searches[0].testAccuracy));
    const randomMask = spreadOf(outs.map((out) => out.searches[0].untrainedMaskAccuracy));
    const sweep = first.searches.slice(1).map((search, i) => `k = ${search.k} ${formatSpread(spreadOf(outs.map((out) => out.searches[i + 1].testAccuracy)))}`);
    const dense = outs.every((out) => out.dense !== null) ? spreadOf(outs.map((out) => out.dense!)) : null;
    const unchanged = outs.every((out) => out.weightsUnchanged);
    const numbers =
      `In your run (${seedsOf(runs)}) the mask searched at k = ${ticketK} reached ${formatSpread(ticket)} test accuracy ` +
      `with every weight ${unchanged ? 'bit-identical to its random start' : 'NOT unchanged in some seed (a bug: the weights must stay frozen)'}; ` +
      `a random mask of that k in the same random network scored ${formatSpread(randomMask)}` +
      (sweep.length > 0 ? `, and the other searches ${sweep.join(', ')}` : '') +
      ` (chance ${chance(runs[0])}${dense ? `, dense network trained on the same budget ${formatSpread(dense)}` : ''}${runs.length > 1 ? `; ${SPREAD_NOTE}` : ''}).`;
    if (runs.length === 1) return `${numbers} ${againstTestNoise(runs[0], ticket.mean)} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    return `${numbers} ${verdict(ticketK, ticket, randomMask, 1 / runs[0].dataset.classes)} ${EXPECTED}`;
  },
});
