/** "Is there a good network hidden in a random one?": edge-popup at k = 0.5 against k = 1, a random mask and the dense network. */
import file from '../../../experiments/presets/hidden-network.json' with { type: 'json' };
import { resultsOf, type RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { chance, definePreset, formatPoints, noiseMargin, ONE_SEED, seedOf } from './preset';

const EXPECTED =
  'The strong-ticket claim is that a random network holds a subnetwork far above chance that no weight training made: the searched mask at k = 0.5 should beat chance by a wide margin ' +
  'while the untouched random network (k = 1) and a random mask of the same size stay near chance, and k = 0.1 usually falls between them (an inverted U over k). ' +
  'A short search on a narrow network stays below the dense network trained on the same budget.';

export const HIDDEN_NETWORK = definePreset(file, {
  id: 'hidden-network',
  title: 'Is there a good network hidden in a random one?',
  lookFor: 'Watch the accuracy-vs-k view: the searched mask at each k (solid), a random mask of that k (dashed), the dense network and chance as lines; the mask-change view shows the search settling. ' + EXPECTED,
  // One seed: the reading weighs the gaps against the noise of the test set.
  seeds: ONE_SEED,
  readRuns([results]: readonly RunResults[]): string {
    const { edgepopup } = resultsOf(results, 'edgepopup');
    const [ticket, ...others] = edgepopup.searches;
    const margin = noiseMargin(ticket.testAccuracy, 1 / results.dataset.classes, results.dataset.test);
    const aboveChance = ticket.testAccuracy - 1 / results.dataset.classes;
    const sweep = others.map((s) => `k = ${s.k} ${formatPercent(s.testAccuracy)}`).join(', ');
    return (
      `In your run (${seedOf(results)}) the mask searched at k = ${ticket.k} reached ${formatPercent(ticket.testAccuracy)} test accuracy ` +
      `with every weight ${edgepopup.weightsUnchanged ? 'bit-identical to its random start' : 'NOT unchanged (a bug: the weights must stay frozen)'}; ` +
      `the same random network under a random mask of that k scored ${formatPercent(ticket.untrainedMaskAccuracy)}` +
      (sweep ? `, and the other searches ${sweep}` : '') +
      ` (chance ${chance(results)}${edgepopup.dense === null ? '' : `, dense network trained on the same budget ${formatPercent(edgepopup.dense)}`}). ` +
      `On ${results.dataset.test.toLocaleString('en-US')} test images a gap under about ${formatPoints(margin)} is within the noise: the ticket is ` +
      (aboveChance > margin ? 'above chance by more than that. ' : 'not clearly above chance in this run. ') +
      EXPECTED
    );
  },
});
