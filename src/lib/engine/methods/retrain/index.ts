/**
 * Retrain an imported lottery ticket (a .safetensors file from this lab, or
 * one written by hand from PyTorch): rewind to its weights, apply its mask
 * and train one round of the configured schedule, or only evaluate it.
 */
import { completeMasks, loadMasks, restoreModel } from '../../io/saved';
import { checkTicketFits, ticketNetworkMismatch } from '../../io/ticket-file';
import { subSeed } from '../../rng';
import type { MethodOutput } from '../../results';
import type { PruningMethod } from '../method';
import { runSingleRound, type SingleRoundState } from '../round';
import { retrainSpec } from './config';

export const retrain: PruningMethod<typeof retrainSpec, MethodOutput, SingleRoundState> = {
  ...retrainSpec,
  plannedRounds: () => 1,

  run(ctx) {
    return runSingleRound(ctx, (model) => {
      const { config } = ctx;
      const ticket = ctx.ticket;
      if (!ticket) throw new Error('Method "retrain" has no ticket to train: import a .safetensors ticket first');
      const mismatch = ticketNetworkMismatch(ticket, config.model);
      if (mismatch) throw new Error(mismatch);
      // Training continues the schedule from the ticket's rewind point, with
      // the batch order of the round that trained it, so retraining a ticket
      // under its run's own config repeats that round.
      // Evaluating only is a round of no iterations: the ticket as imported, under its mask.
      const rewindPoint = ticket.iteration ?? 0;
      const [from, to] = config.retrain.evaluateOnly ? [0, 0] : [rewindPoint, ctx.iterations];
      if (from >= to && !config.retrain.evaluateOnly) {
        throw new Error(`The ticket's weights are from iteration ${from}, but the configured schedule has only ${ctx.iterations} iterations`);
      }
      checkTicketFits(ticket, model);
      restoreModel(model, ticket.weights, 'The ticket');
      ctx.progress.add(to - from);
      return {
        round: { masks: completeMasks(model, loadMasks(ticket.masks)), dataSeed: subSeed(config.seed, `data-${ticket.round}`), from, to },
        ticket,
      };
    });
  },
};
