/**
 * Method-specific views, by the `view` name of the engine's `view` events.
 * A method that emits a new view adds its component here; views without a
 * component are shown as data by MethodViews.
 */
import type { Component } from 'svelte';
import ChannelMaskView from './ChannelMaskView.svelte';
import ColtOverlapView from './ColtOverlapView.svelte';
import EbComparisonView from './EbComparisonView.svelte';
import MaskDistanceView from './MaskDistanceView.svelte';
import RoundsToSparsityView from './RoundsToSparsityView.svelte';

export type ViewComponent = Component<{ data: unknown }>;

export const VIEW_COMPONENTS: Record<string, ViewComponent> = {};

VIEW_COMPONENTS['mask-distance'] = MaskDistanceView;
VIEW_COMPONENTS['channel-masks'] = ChannelMaskView;
VIEW_COMPONENTS['eb-comparison'] = EbComparisonView;
VIEW_COMPONENTS['colt-overlap'] = ColtOverlapView;
VIEW_COMPONENTS['rounds-to-sparsity'] = RoundsToSparsityView;
