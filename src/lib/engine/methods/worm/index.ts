/**
 * WORM, "EarlyBird gets the WORM" (Vasudev, NeurIPS 2024 ENLSP; reference
 * code adithya-gv/WORM): the EarlyBird search, plus damping of the BN
 * gradients of the channels the newest mask would prune, so the mask stops
 * flickering and the ticket appears sooner. By default the same run also
 * draws a plain EarlyBird ticket from the same seed and data, for the table.
 */
import type { ExperimentConfig } from '../../config';
import {
  EARLYBIRD_DIFFERENCES,
  TicketViews,
  requireBatchNorm,
  runTicketSearch,
  type ChiPolicy,
  type SearchCheckpoint,
  type SearchState,
  type TicketViewsState,
} from '../earlybird/index';
import type { PruningMethod } from '../method';

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

export const worm: PruningMethod = {
  name: 'worm',
  summary:
    'WORM: EarlyBird with the BN gradients of channels about to be pruned damped by chi, so the ticket settles sooner; run beside plain EarlyBird from the same seed.',
  differences:
    EARLYBIRD_DIFFERENCES +
    ' WORM: the detector settings (p, queue, epsilon) come from the earlybird block, whose defaults are WORM\'s 0.5 / 5 / 0.1; ' +
    'the sign-L1 slimming term stays on as in the EarlyBird code WORM builds on, so damping is the only difference from the EarlyBird run; ' +
    'chi is only updated on epochs without a ticket, and before the queue is full no mean distance exists (chi 1, or chiFixed in fixed mode).',
  plannedRounds: (config) => (config.worm.compareWithEarlyBird ? 4 : 2),

  async run(ctx) {
    const { config } = ctx;
    requireBatchNorm(config, 'worm');
    if (config.earlybird.unstructured) throw new Error('Method "worm" damps BN channels: earlybird.unstructured is not supported');
    const views = new TicketViews(ctx.emit, config.earlybird.epsilon);
    const saved = ctx.resume?.state as WormState | undefined;
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

/** WORM's checkpoint state: each search's state once it has one, and the views drawn so far. */
interface WormState {
  views: TicketViewsState;
  earlybird: SearchState | null;
  worm: SearchState | null;
}
