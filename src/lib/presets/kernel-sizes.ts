/** "Search and prune at once: which kernel sizes survive?": SuperTickets' search on a 3x3/5x5 supernet over the preset's seeds, with regrowth against monotone masks. */
import file from '../../../experiments/presets/kernel-sizes.json' with { type: 'json' };
import type { ExperimentConfig } from '../engine/config';
import { walkLayers } from '../engine/models/layers';
import { archLayers } from '../engine/models/registry';
import { resultsOf, type RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { BANDS_OVERLAP, compareBands, definePreset, formatCountSpread, formatSpread, oneSeedNote, seedsOf, SPREAD_NOTE, spreadOf } from './preset';

const SEEDS = [1, 2, 3];

const EXPECTED =
  'Under the FLOP weighting a 5x5 channel is pushed 25/9 as hard as a 3x3 one, so the search is expected to cut more 5x5 channels; ' +
  'in regrow mode some pruned weights come back at the events (most where the sparsity stays at the target), in monotone mode none do.';

/** Channels each branch has in the supernet before any cut: every branch starts at its stage's width. */
function supernetChannels(config: ExperimentConfig, classes: number): number {
  const layers = archLayers(config.model.arch, config.model.width, classes, undefined, config.model.branches);
  let channels = 0;
  for (const { layer, output } of walkLayers(layers, [32, 32, 3])) if (layer.name && /^conv_\d+$/.test(layer.name)) channels += output[output.length - 1];
  return channels;
}

export const KERNEL_SIZES = definePreset(file, {
  id: 'kernel-sizes',
  title: 'Search and prune at once: which kernel sizes survive?',
  lookFor:
    'The SuperTickets view draws the channels alive in each branch of each stage at every event, each arm’s accuracy against the FLOPs of its network, and the regrowth at each event. ' +
    EXPECTED,
  seeds: SEEDS,
  readRuns(runs: readonly RunResults[]): string {
    const outputs = runs.map((run) => resultsOf(run, 'supertickets').supertickets);
    const kernels = outputs[0].branches;
    const total = supernetChannels(runs[0].config, runs[0].dataset.classes);
    const keptBy = (k: number) => spreadOf(outputs.map((out) => Object.values(out.arms.twoInOne.channels).reduce((n, stage) => n + (stage[`k${k}`] ?? 0), 0)));
    const kept = kernels.map((k) => ({ k, spread: keptBy(k) }));
    const note = runs.length > 1 ? ` (${SPREAD_NOTE})` : '';
    const regrowth = spreadOf(outputs.map((out) => Math.max(0, ...out.arms.twoInOne.events.map((e) => e.regrowth))));
    const monotone = outputs.every((out) => out.arms.monotone) ? outputs.map((out) => out.arms.monotone!) : null;
    const accuracy = spreadOf(outputs.map((out) => out.arms.twoInOne.testAccuracy));
    const numbers =
      `In your run (${seedsOf(runs)}) the search kept ${kept.map(({ k, spread }) => `${formatCountSpread(spread)} of ${total} ${k}x${k}`).join(' and ')} branch channels${note}; ` +
      `two-in-one reached ${formatSpread(accuracy)} test accuracy at ${formatPercent(outputs[0].arms.twoInOne.sparsity)} sparsity` +
      (monotone ? `, monotone masks ${formatSpread(spreadOf(monotone.map((arm) => arm.testAccuracy)))}` : '') +
      `. The largest regrowth at an event was ${formatSpread(regrowth)} in regrow mode` +
      (monotone ? ` and ${formatPercent(Math.max(0, ...monotone.flatMap((arm) => arm.events.map((e) => e.regrowth))))} in monotone mode.` : '.');
    if (runs.length === 1) return `${numbers} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    const three = kept.find((b) => b.k === 3);
    const five = kept.find((b) => b.k === 5);
    const verdict = !three || !five
      ? ''
      : compareBands(three.spread, five.spread) === 'above'
        ? ' The 3x3 branches kept more channels than the 5x5 in every seed, beyond the seed spread: the search cut the costlier kernel first.'
        : compareBands(three.spread, five.spread) === 'below'
          ? ' The 5x5 branches kept more channels than the 3x3, beyond the seed spread: not what the FLOP weighting expects.'
          : ` The channels kept by the 3x3 and the 5x5 branches: ${BANDS_OVERLAP}.`;
    const against = monotone ? compareBands(accuracy, spreadOf(monotone.map((arm) => arm.testAccuracy))) : null;
    const versus =
      against === null
        ? ''
        : against === 'overlap'
          ? ` Two-in-one's and monotone masks' accuracies: ${BANDS_OVERLAP}.`
          : ` Two-in-one's accuracy lies ${against} monotone masks' beyond the seed spread.`;
    return `${numbers}${verdict}${versus} ${EXPECTED}`;
  },
});
