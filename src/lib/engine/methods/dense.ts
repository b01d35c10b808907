/** The dense baseline: one training run, nothing pruned. */
import type { RoundResult } from '../results';
import { subSeed } from '../rng';
import type { PruningMethod } from './method';
import { trainRound } from './round';

/** Checkpoint state: the one round, once trained. */
interface DenseState {
  rounds: RoundResult[];
}

export const dense: PruningMethod = {
  name: 'dense',
  summary: 'Dense baseline: train the full network once, nothing pruned.',
  differences: null,
  plannedRounds: () => 1,

  async run(ctx) {
    // Its only checkpoint is the finished run.
    if (ctx.resume) return { rounds: (ctx.resume.state as DenseState).rounds };
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
      ctx.checkpoint({ round: 1, state: { rounds: [result] } satisfies DenseState, tensors: {}, masks: {}, ticket: null });
      return { rounds: [result] };
    } finally {
      model.dispose();
    }
  },
};
