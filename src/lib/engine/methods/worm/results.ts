/** WORM's results and checkpoint state: its ticket search's, and the plain EarlyBird search run beside it. */
import type { EarlyBirdOutput, SearchState, TicketSummary } from '../earlybird/results';
import type { TicketViewsState } from '../earlybird/views';

export interface WormOutput extends EarlyBirdOutput {
  /** With `worm.compareWithEarlyBird`: both searches' summaries, from the same seed and data. */
  comparison?: { earlybird: TicketSummary; worm: TicketSummary };
}

/**
 * WORM's checkpoint state: each search's state once it has one, and the views
 * drawn so far (both searches'). While the EarlyBird comparison runs (a
 * branch, ctx.runBeside) this is that method's own state, {views, search},
 * with its search under `earlybird`: the shape checkpoints had before.
 */
export interface WormState {
  views: TicketViewsState;
  earlybird: SearchState | null;
  worm: SearchState | null;
}
