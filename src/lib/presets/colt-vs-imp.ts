/** "COLT or IMP: who gets sparse faster?": COLT's rounds against its IMP comparison over the preset's seeds, by sparsity of the pruned (conv) layers. */
import file from '../../../experiments/presets/colt-vs-imp.json' with { type: 'json' };
import { sparsityOver } from '../engine/methods/colt';
import { resultsOf, type RunResults } from '../engine/results';
import { BANDS_OVERLAP, compareBands, definePreset, formatSpread, oneSeedNote, seedsOf, SPREAD_NOTE, spreadOf } from './preset';

const SEEDS = [1, 2, 3];

const EXPECTED =
  'COLT keeps only the weights every class-segment model keeps, so a round should remove more than its rate per model and it should get sparse in fewer rounds than IMP at the same rate, ' +
  'at about the same accuracy; each COLT round trains one network per segment and one more to judge the ticket, so it is not cheaper to compute. ' +
  'The accuracy chart counts every weight and only the conv layers are pruned, so both sit near the dense end there: the rounds-to-sparsity view counts the conv layers.';

export const COLT_VS_IMP = definePreset(file, {
  id: 'colt-vs-imp',
  title: 'COLT or IMP: who gets sparse faster?',
  seeds: SEEDS,
  lookFor: 'The rounds-to-sparsity view counts rounds to a conv sparsity for COLT and for IMP pruning at the same rate. ' + EXPECTED,
  readRuns(runs: readonly RunResults[]): string {
    const colts = runs.map((run) => resultsOf(run, 'colt').colt);
    // Compare after the rounds every seed's COLT and IMP both completed.
    const rounds = Math.min(...colts.map((colt) => Math.min(colt.rounds.length, colt.imp?.rounds.length ?? 0))) - 1;
    const where = `In your run (${seedsOf(runs)})`;
    const note = runs.length > 1 ? ` (${SPREAD_NOTE})` : '';
    if (rounds < 1) {
      const coltSparsity = spreadOf(colts.map((colt) => colt.rounds.at(-1)!.sparsity));
      return `${where} COLT reached ${formatSpread(coltSparsity)} conv sparsity in ${colts[0].rounds.length - 1} rounds${note}, and there was no IMP round to compare with. ${EXPECTED}`;
    }
    const colt = spreadOf(colts.map((c) => c.rounds[rounds].sparsity));
    const imp = spreadOf(colts.map((c) => sparsityOver(c.imp!.rounds[rounds].layers, c.prunedLayers)));
    const matched = colts.map((c) => c.imp?.matched.at(-1)).filter((m) => m !== undefined);
    const numbers =
      `${where}, after ${rounds} round${rounds === 1 ? '' : 's'} COLT with ${colts[0].segments.length} segments had pruned ${formatSpread(colt)} of the conv weights, ` +
      `IMP at the same rate ${formatSpread(imp)}${note}.` +
      (matched.length === colts.length
        ? ` At COLT's sparsest round (${formatSpread(spreadOf(matched.map((m) => m.coltSparsity)))}) its full network reached ${formatSpread(spreadOf(matched.map((m) => m.coltAccuracy)))} test accuracy, ` +
          `IMP's nearest round (${formatSpread(spreadOf(matched.map((m) => m.impSparsity)))}) ${formatSpread(spreadOf(matched.map((m) => m.impAccuracy)))}.`
        : '');
    if (runs.length === 1) return `${numbers} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    const faster = compareBands(colt, imp);
    const speed =
      faster === 'above'
        ? 'COLT got sparser in the same rounds in every seed, beyond the seed spread.'
        : faster === 'below'
          ? 'IMP got sparser in the same rounds, beyond the seed spread: not what the claim expects.'
          : `COLT's and IMP's sparsities after the same rounds: ${BANDS_OVERLAP}.`;
    const accuracy =
      matched.length === colts.length
        ? compareBands(spreadOf(matched.map((m) => m.coltAccuracy)), spreadOf(matched.map((m) => m.impAccuracy))) === 'overlap'
          ? ` Their accuracies near that sparsity: ${BANDS_OVERLAP} whether either is more accurate.`
          : ' Their accuracies near that sparsity differ beyond the seed spread.'
        : '';
    return `${numbers} ${speed}${accuracy} ${EXPECTED}`;
  },
});
