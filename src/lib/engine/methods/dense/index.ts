/** The dense baseline: one training run, nothing pruned. */
import { subSeed } from '../../rng';
import type { PruningMethod } from '../method';
import { runSingleRound } from '../round';

export const dense: PruningMethod = {
  name: 'dense',
  summary: 'Dense baseline: train the full network once, nothing pruned.',
  differences: null,
  plannedRounds: () => 1,

  run(ctx) {
    return runSingleRound(ctx, () => {
      ctx.progress.add(ctx.iterations);
      return { round: { masks: null, dataSeed: subSeed(ctx.config.seed, 'data-0') }, ticket: null };
    });
  },
};
