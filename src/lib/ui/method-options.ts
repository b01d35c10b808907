/**
 * The option panels each method reads from the config. The builder shows the
 * panels of the chosen method; a new method adds its line here.
 */
import type { Component } from 'svelte';
import type { MethodName } from '../engine/config';
import type { Lab } from '../store/lab.svelte';
import ColtOptions from './ColtOptions.svelte';
import EarlyBirdOptions from './EarlyBirdOptions.svelte';
import PruneOptions from './PruneOptions.svelte';
import WormOptions from './WormOptions.svelte';

export const METHOD_OPTIONS: Partial<Record<MethodName, Component<{ lab: Lab }>[]>> = {
  imp: [PruneOptions],
  earlybird: [EarlyBirdOptions],
  worm: [EarlyBirdOptions, WormOptions],
  colt: [ColtOptions],
};
