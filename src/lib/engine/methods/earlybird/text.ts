/** What a ticket search says as it goes: the CLI's line per epoch and the status when its ticket is pruned. */
import type { DetectorState } from '../../masks/channel-masks';
import type { TicketSummary } from './results';

function distance(d: number | null): string {
  return d === null ? '-' : d.toFixed(3);
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** `note`: what happened at this epoch beside the distances (the ticket drawn, chi set). */
export function epochLine(search: string, epoch: number, searching: boolean, state: DetectorState, note: string): string {
  return `[${search}] epoch ${epoch}${searching ? '' : ' (retraining)'}: mask distance max ${distance(state.max)} mean ${distance(state.mean)}${note}`;
}

/** After pruning: what was pruned, the accuracy before and right after, and any layer left without a channel. */
export function prunedMessage(summary: TicketSummary, weightSparsity: number): string {
  const pruned =
    summary.channelsKept === null
      ? `${percent(weightSparsity)} of weights`
      : `${summary.channelsTotal - summary.channelsKept} of ${summary.channelsTotal} channels`;
  const emptied = Object.entries(summary.channelsKeptByLayer ?? {}).filter(([, kept]) => kept === 0);
  return (
    `[${summary.name}] ticket at epoch ${summary.epoch}: pruned ${pruned}, test accuracy ${percent(summary.accuracyAtTicket)} before, ` +
    `${percent(summary.accuracyAtPruning ?? 0)} right after pruning` +
    (emptied.length ? `; warning: ${emptied.map(([name]) => name).join(', ')} lost every channel, so no signal passes` : '')
  );
}
