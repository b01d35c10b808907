/**
 * Early-Bird tickets (You et al., "Drawing Early-Bird Tickets", ICLR 2020):
 * one ticket search (search.ts) from the run's seed, its views and its
 * checkpoints. The pieces: bn-hooks.ts (BN gradients and pruned channels),
 * search.ts (the search loop), views.ts, checkpoint.ts, flops.ts, text.ts.
 */
import type { PruningMethod } from '../method';
import { requireBatchNorm } from './bn-hooks';
import { earlybirdSpec } from './config';
import type { EarlyBirdOutput, EarlyBirdState } from './results';
import { runTicketSearch } from './search';
import { TicketViews } from './views';

export const earlybird: PruningMethod<typeof earlybirdSpec, EarlyBirdOutput, EarlyBirdState> = {
  ...earlybirdSpec,
  plannedRounds: (config) => (config.earlybird.denseBaseline ? 3 : 2),

  async run(ctx) {
    if (!ctx.config.earlybird.unstructured) requireBatchNorm(ctx.config, 'earlybird');
    const views = new TicketViews(ctx.emit, ctx.config.earlybird.epsilon);
    const saved = ctx.resume?.state;
    if (saved) views.restore(saved.views);
    const resume = ctx.resume && saved ? { ...ctx.resume, state: saved.search } : null;
    const { summary, rounds } = await runTicketSearch(ctx, { name: 'EarlyBird', series: 'ticket', chi: null, views, denseBaseline: ctx.config.earlybird.denseBaseline }, resume, (search) =>
      ctx.checkpoint({ ...search, round: search.state.rounds.length, state: { views: views.save(), search: search.state } }),
    );
    return { rounds, ticket: summary };
  },
};
