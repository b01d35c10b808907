/**
 * The option panels each method reads from the config. The builder shows the
 * panels of the chosen method; a new method adds its line here.
 */
import type { Component } from 'svelte';
import type { MethodName } from '../engine/config';
import type { Lab } from '../store/lab.svelte';
import PruneOptions from './PruneOptions.svelte';

export const METHOD_OPTIONS: Partial<Record<MethodName, Component<{ lab: Lab }>[]>> = {
  imp: [PruneOptions],
};
