/** The dense baseline: one training run, nothing pruned. */
import { subSeed } from '../rng';
import type { PruningMethod } from './method';
import { trainRound } from './round';

export const dense: PruningMethod = {
  name: 'dense',
  summary: 'Dense baseline: train the full network once, nothing pruned.',
  differences: null,
  plannedRounds: () => 1,

  async run(ctx) {
    ctx.progress.add(ctx.iterations);
    const model = ctx.createModel(subSeed(ctx.config.seed, 'init'));
    try {
      const { result } = await trainRound(ctx, {
        series: 'ticket',
        round: 0,
        model,
        masks: null,
        dataSeed: subSeed(ctx.config.seed, 'data-0'),
      });
      return { rounds: [result] };
    } finally {
      model.dispose();
    }
  },
};
