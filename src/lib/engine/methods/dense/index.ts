/** The dense baseline: one training run, nothing pruned. */
import type { MethodOutput } from '../../results';
import { subSeed } from '../../rng';
import type { PruningMethod } from '../method';
import { runSingleRound, type SingleRoundState } from '../round';
import { denseSpec } from './config';

export const dense: PruningMethod<typeof denseSpec, MethodOutput, SingleRoundState> = {
  ...denseSpec,
  plannedRounds: () => 1,

  run(ctx) {
    return runSingleRound(ctx, () => {
      ctx.progress.add(ctx.iterations);
      return { round: { masks: null, dataSeed: subSeed(ctx.config.seed, 'data-0') }, ticket: null };
    });
  },
};
