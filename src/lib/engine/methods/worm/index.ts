/**
 * WORM, "EarlyBird gets the WORM" (Vasudev, NeurIPS 2024 ENLSP; reference
 * code adithya-gv/WORM): the EarlyBird search, plus damping of the BN
 * gradients of the channels the newest mask would prune, so the mask stops
 * flickering and the ticket appears sooner. By default the earlybird method
 * runs beside it first (ctx.runBeside: same seed, data and schedule), for the table.
 */
import type { ExperimentConfig } from '../../config';
import { requireBatchNorm } from '../earlybird/bn-hooks';
import type { SearchCheckpoint } from '../earlybird/checkpoint';
import type { EarlyBirdState } from '../earlybird/results';
import { runTicketSearch, type ChiPolicy } from '../earlybird/search';
import { TicketViews } from '../earlybird/views';
import type { MethodContext, PruningMethod } from '../method';
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

/**
 * Plain EarlyBird from the same seed and data, run beside WORM (its series
 * 'earlybird') before WORM's own search. Its checkpoints are WORM's with
 * WORM's search not yet begun and no ticket (WORM's search yields the run's).
 * Returns its output and its state as it left it: its search and the views
 * drawn so far (the resumed checkpoint's, when the comparison had finished).
 */
async function runEarlyBirdBeside(ctx: MethodContext<WormState>, saved: WormState | null) {
  let left: EarlyBirdState | null = saved?.earlybird ? { views: saved.views, search: saved.earlybird } : null;
  const output = await ctx.runBeside('earlybird', {
    config: ctx.config,
    series: 'earlybird',
    roundsBefore: 0,
    resume: left,
    checkpoint: (checkpoint) => {
      left = checkpoint.state;
      return { ...checkpoint, state: { views: left.views, earlybird: left.search, worm: null }, ticket: null };
    },
  });
  // The search always checkpoints when it finishes, or was resumed finished.
  return { output, state: left! };
}

export const worm: PruningMethod<typeof wormSpec, WormOutput, WormState> = {
  ...wormSpec,
  // Its own search's rounds, as COLT's count its own: the EarlyBird branch's progress says its own.
  plannedRounds: () => 2,

  async run(ctx) {
    const { config } = ctx;
    requireBatchNorm(config, 'worm');
    if (config.earlybird.unstructured) throw new Error('Method "worm" damps BN channels: earlybird.unstructured is not supported');
    const saved = ctx.resume?.state ?? null;
    const earlyBird = config.worm.compareWithEarlyBird ? await runEarlyBirdBeside(ctx, saved) : null;
    // One set of views for both searches: WORM's series is drawn beside the
    // EarlyBird one, which the comparison's last checkpoint (or the one
    // resumed, once the comparison is finished) holds.
    const views = new TicketViews(ctx.emit, config.earlybird.epsilon);
    const viewsSoFar = earlyBird?.state.views ?? saved?.views;
    if (viewsSoFar) views.restore(viewsSoFar);
    const earlybirdState = earlyBird?.state.search ?? null;
    const resume: SearchCheckpoint | null = ctx.resume && saved?.worm ? { ...ctx.resume, state: saved.worm } : null;
    const wormRun = await runTicketSearch(ctx, { name: 'WORM', series: 'ticket', chi: chiSchedule(config.worm), views, denseBaseline: false }, resume, (checkpoint) =>
      ctx.checkpoint({
        ...checkpoint,
        round: (earlybirdState?.rounds.length ?? 0) + checkpoint.state.rounds.length,
        state: { views: views.save(), earlybird: earlybirdState, worm: checkpoint.state },
      }),
    );
    return {
      rounds: wormRun.rounds,
      ticket: wormRun.summary,
      comparison: earlyBird ? { earlybird: earlyBird.output.ticket, worm: wormRun.summary } : undefined,
    };
  },
};
