/** "COLT or IMP: who gets sparse faster?": COLT's rounds against its IMP comparison, by sparsity of the pruned (conv) layers. */
import file from '../../../experiments/presets/colt-vs-imp.json' with { type: 'json' };
import { sparsityOver } from '../engine/methods/colt';
import { resultsOf, type RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { definePreset, formatPoints, noiseMargin, seedOf } from './preset';

const EXPECTED =
  'COLT keeps only the weights every class-segment model keeps, so a round should remove more than its rate per model and it should get sparse in fewer rounds than IMP at the same rate, ' +
  'at about the same accuracy; each COLT round trains one network per segment and one more to judge the ticket, so it is not cheaper to compute. ' +
  'The accuracy chart counts every weight and only the conv layers are pruned, so both sit near the dense end there: the rounds-to-sparsity view counts the conv layers.';

export const COLT_VS_IMP = definePreset(file, {
  id: 'colt-vs-imp',
  title: 'COLT or IMP: who gets sparse faster?',
  lookFor: 'The rounds-to-sparsity view counts rounds to a conv sparsity for COLT and for IMP pruning at the same rate. ' + EXPECTED,
  readRun(results: RunResults): string {
    const { colt } = resultsOf(results, 'colt');
    const coltSparsities = colt.rounds.slice(1).map((r) => formatPercent(r.sparsity));
    const impRounds = colt.imp?.rounds.slice(1) ?? [];
    const impLast = impRounds.at(-1);
    const imp = impLast
      ? `, while IMP at the same rate reached ${formatPercent(sparsityOver(impLast.layers, colt.prunedLayers))} after ${impRounds.length}`
      : '';
    const matched = colt.imp?.matched.at(-1);
    const accuracies = matched
      ? ` At COLT's sparsest round (${formatPercent(matched.coltSparsity)}) its full network reached ${formatPercent(matched.coltAccuracy)} test accuracy, ` +
        `IMP's nearest round (${formatPercent(matched.impSparsity)}) ${formatPercent(matched.impAccuracy)}; on ${results.dataset.test.toLocaleString('en-US')} test images ` +
        `a gap under about ${formatPoints(noiseMargin(matched.coltAccuracy, matched.impAccuracy, results.dataset.test))} is within the noise.`
      : '';
    return (
      `In your run (${seedOf(results)}) COLT with ${colt.segments.length} segments pruned ${coltSparsities.join(', ')} of the conv weights in ${coltSparsities.length} rounds${imp}.` +
      accuracies +
      ' ' +
      EXPECTED
    );
  },
});
