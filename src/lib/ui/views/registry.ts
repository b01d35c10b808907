/**
 * Method-specific views, by the `view` kind of the engine's `view` events.
 * A method declares the kinds it emits (`views` in its config.ts); a kind
 * gets its drawing here, and until it has one MethodViews shows its data.
 */
import type { Component } from 'svelte';
import AccuracyVsKView from './AccuracyVsKView.svelte';
import ChannelMaskView from './ChannelMaskView.svelte';
import ColtOverlapView from './ColtOverlapView.svelte';
import EbComparisonView from './EbComparisonView.svelte';
import KsLotteryAccuracyView from './KsLotteryAccuracyView.svelte';
import KsLotteryRowsView from './KsLotteryRowsView.svelte';
import JackpotSearchView from './JackpotSearchView.svelte';
import MaskChangeView from './MaskChangeView.svelte';
import MaskDistanceView from './MaskDistanceView.svelte';
import OwnershipAttacksView from './OwnershipAttacksView.svelte';
import RoundsToSparsityView from './RoundsToSparsityView.svelte';
import SuperTicketsView from './SuperTicketsView.svelte';
import TransferView from './TransferView.svelte';

export type ViewComponent = Component<{ data: unknown }>;

export const VIEW_COMPONENTS: Record<string, ViewComponent> = {};

VIEW_COMPONENTS['mask-distance'] = MaskDistanceView;
VIEW_COMPONENTS['channel-masks'] = ChannelMaskView;
VIEW_COMPONENTS['eb-comparison'] = EbComparisonView;
VIEW_COMPONENTS['colt-overlap'] = ColtOverlapView;
VIEW_COMPONENTS['rounds-to-sparsity'] = RoundsToSparsityView;
VIEW_COMPONENTS['kslottery-accuracy'] = KsLotteryAccuracyView;
VIEW_COMPONENTS['kslottery-rows'] = KsLotteryRowsView;
VIEW_COMPONENTS['jackpot-search'] = JackpotSearchView;
VIEW_COMPONENTS['accuracy-vs-k'] = AccuracyVsKView;
VIEW_COMPONENTS['mask-change'] = MaskChangeView;
VIEW_COMPONENTS['transfer'] = TransferView;
VIEW_COMPONENTS['ownership-attacks'] = OwnershipAttacksView;
VIEW_COMPONENTS['supertickets'] = SuperTicketsView;
