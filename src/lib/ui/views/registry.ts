/**
 * Method-specific views, by the `view` name of the engine's `view` events.
 * A method that emits a new view adds its component here; views without a
 * component are shown as data by MethodViews.
 */
import type { Component } from 'svelte';

export type ViewComponent = Component<{ data: unknown }>;

export const VIEW_COMPONENTS: Record<string, ViewComponent> = {};
