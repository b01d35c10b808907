/**
 * WORM, "EarlyBird gets the WORM" (Vasudev, NeurIPS 2024 ENLSP; reference
 * code adithya-gv/WORM): the EarlyBird search, plus damping of the BN
 * gradients of the channels the newest mask would prune, so the mask stops
 * flickering and the ticket appears sooner. By default the same run also
 * draws a plain EarlyBird ticket from the same seed and data, for the table.
 */
import type { ExperimentConfig } from '../../config';
import { requireBatchNorm } from '../earlybird/bn-hooks';
import type { SearchCheckpoint } from '../earlybird/checkpoint';
import { runTicketSearch, type ChiPolicy } from '../earlybird/search';
import { TicketViews } from '../earlybird/views';
import type { PruningMethod } from '../method';
import { wormSpec } from './config';
import type { WormOutput, WormState } from './results';

/**
 * chi after each epoch without a ticket. paper: 1 until the mean queue
 * distance falls below `threshold`, then `chiLow` for good; fixed: `chiFixed`
 * throughout; greedy: the mean distance itself (1 until the queue is full).
 */
export function chiSchedule(worm: ExperimentConfig['worm']): ChiPolicy {
  let settled = false;
  return {
    next(meanDistance) {
      if (worm.chiMode === 'fixed') return worm.chiFixed;
      if (worm.chiMode === 'greedy') return meanDistance ?? 1;
      settled ||= meanDistance !== null && meanDistance < worm.threshold;
      return settled ? worm.chiLow : 1;
    },
  };
}

export const worm: PruningMethod<typeof wormSpec, WormOutput, WormState> = {
  ...wormSpec,
  plannedRounds: (config) => (config.worm.compareWithEarlyBird ? 4 : 2),

  async run(ctx) {
    const { config } = ctx;
    requireBatchNorm(config, 'worm');
    if (config.earlybird.unstructured) throw new Error('Method "worm" damps BN channels: earlybird.unstructured is not supported');
    const views = new TicketViews(ctx.emit, config.earlybird.epsilon);
    const saved = ctx.resume?.state;
    if (saved) views.restore(saved.views);
    let state: WormState = saved ?? { views: views.save(), earlybird: null, worm: null };
    /** Each search's checkpoints, with the finished comparison search's results beside them. */
    const saver = (search: 'earlybird' | 'worm') => (checkpoint: SearchCheckpoint) => {
      state = { ...state, views: views.save(), [search]: checkpoint.state };
      const round = (state.earlybird?.rounds.length ?? 0) + (state.worm?.rounds.length ?? 0);
      // Only WORM's own search yields the run's ticket; the EarlyBird one is the comparison.
      ctx.checkpoint({ ...checkpoint, round, state, ticket: search === 'worm' ? checkpoint.ticket : null });
    };
    const resumeOf = (search: 'earlybird' | 'worm'): SearchCheckpoint | null => {
      const searchState = saved?.[search];
      if (!ctx.resume || !searchState) return null;
      // The tensors and masks belong to the search still in progress; a finished one needs none.
      return { ...ctx.resume, state: searchState };
    };
    const earlyBird = config.worm.compareWithEarlyBird
      ? await runTicketSearch(ctx, { name: 'EarlyBird', series: 'earlybird', chi: null, views }, resumeOf('earlybird'), saver('earlybird'))
      : null;
    const wormRun = await runTicketSearch(
      ctx,
      { name: 'WORM', series: 'ticket', chi: chiSchedule(config.worm), views },
      resumeOf('worm'),
      saver('worm'),
    );
    return {
      rounds: wormRun.rounds,
      ticket: wormRun.summary,
      comparison: earlyBird ? { earlybird: earlyBird.summary, worm: wormRun.summary } : undefined,
    };
  },
};
