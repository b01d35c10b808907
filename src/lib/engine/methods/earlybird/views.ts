/**
 * The page's views of ticket searches: the distances between the queued
 * masks, the channel masks per epoch and the EarlyBird/WORM table. A
 * checkpoint carries what they hold, so a resumed run's views go on.
 */
import type { DetectorState } from '../../masks/channel-masks';
import type { EmitEvent } from '../../results';
import type { TicketSummary } from './results';

/** The table row the page shows for one ticket search. */
export function comparisonRow(s: TicketSummary) {
  return {
    name: s.name,
    ticketEpoch: s.epoch,
    scheduleEpochs: s.scheduleEpochs,
    accuracyAtTicket: s.accuracyAtTicket,
    accuracyAtPruning: s.accuracyAtPruning,
    accuracyAfterRetraining: s.accuracyAfterRetraining,
    accuracyDense: s.accuracyDense ?? null,
    channelsKept: s.channelsKept,
    channelsTotal: s.channelsTotal,
    flopsToTicket: s.flopsToTicket,
    flopsTotal: s.flopsTotal,
    flopsDense: s.flopsDense,
    shrunk: s.shrunk ?? false,
    epochFlopRatio: s.epochFlopRatio ?? null,
    secondsPerEpochBefore: s.secondsPerEpochBefore ?? null,
    secondsPerEpochAfter: s.secondsPerEpochAfter ?? null,
  };
}
export type ComparisonRow = ReturnType<typeof comparisonRow>;

/** Data of the 'mask-distance' view: per series and epoch, the largest and mean queue distance. */
export interface MaskDistanceViewData {
  series: { name: string; epochs: { epoch: number; max: number | null; mean: number | null }[]; ticketEpoch: number | null }[];
  epsilon: number;
  line: string;
}

/** Data of the 'channel-masks' view: per series and epoch, one '0'/'1' string per BN layer (1 = kept). */
export interface ChannelMaskViewData {
  layers: { name: string; channels: number }[];
  series: { name: string; epochs: { epoch: number; bits: string[] }[] }[];
}

/** Data of the 'eb-comparison' view. */
export interface EbComparisonViewData {
  rows: ComparisonRow[];
}

type SeriesView = MaskDistanceViewData['series'][number] & { masks: ChannelMaskViewData['series'][number]['epochs'] };

/** What the views hold so far, for a checkpoint: a resumed run's views go on from it. */
export interface TicketViewsState {
  series: SeriesView[];
  rows: ComparisonRow[];
  layers: { name: string; channels: number }[];
}

/**
 * The page's views of one or more ticket searches (EarlyBird, WORM), each
 * re-emitted in full on every update: 'mask-distance', 'channel-masks' and
 * 'eb-comparison'. `line` is what the CLI prints per epoch.
 */
export class TicketViews {
  private readonly series: SeriesView[] = [];
  private readonly rows: ComparisonRow[] = [];
  private layers: { name: string; channels: number }[] = [];

  constructor(
    private readonly emit: EmitEvent,
    private readonly epsilon: number,
  ) {}

  save(): TicketViewsState {
    return { series: this.series, rows: this.rows, layers: this.layers };
  }

  restore(state: TicketViewsState): void {
    this.series.push(...state.series);
    this.rows.push(...state.rows);
    this.layers = state.layers;
  }

  start(name: string, layers: { name: string; channels: number }[]): void {
    this.layers = layers;
    this.series.push({ name, epochs: [], ticketEpoch: null, masks: [] });
  }

  epoch(epoch: number, state: DetectorState, channelBits: Map<string, Uint8Array> | null, line: string): void {
    const current = this.series.at(-1)!;
    current.epochs.push({ epoch, max: state.max, mean: state.mean });
    this.emit({
      type: 'view',
      view: 'mask-distance',
      data: {
        series: this.series.map(({ name, epochs, ticketEpoch }) => ({ name, epochs, ticketEpoch })),
        epsilon: this.epsilon,
        line,
      } satisfies MaskDistanceViewData,
    });
    if (!channelBits) return;
    current.masks.push({ epoch, bits: this.layers.map((l) => channelBits.get(l.name)!.join('')) });
    this.emit({
      type: 'view',
      view: 'channel-masks',
      data: { layers: this.layers, series: this.series.map(({ name, masks }) => ({ name, epochs: masks })) } satisfies ChannelMaskViewData,
    });
  }

  ticket(epoch: number): void {
    this.series.at(-1)!.ticketEpoch = epoch;
  }

  summary(summary: TicketSummary): void {
    this.rows.push(comparisonRow(summary));
    this.emit({ type: 'view', view: 'eb-comparison', data: { rows: this.rows } satisfies EbComparisonViewData });
  }
}
