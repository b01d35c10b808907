/**
 * Where a jackpot search gets its dense network: an imported file's weights,
 * the session's cache, or a dense training run of the config's `train` block.
 * The cache lives as long as the engine (the page's worker, a Node process),
 * keyed by the identity of what pre-training computes, so a second search
 * on the same data, network, seed and schedule does not train it again.
 */
import type { SavedTensor, Ticket } from '../../checkpoint';
import type { ExperimentConfig } from '../../config';
import { identityText } from '../../identity';
import type { RoundResult } from '../../results';

export interface PretrainedNetwork {
  weights: Record<string, SavedTensor>;
  /** The dense network's round as measured when it was trained (or evaluated, when imported). */
  dense: RoundResult;
}

/** Dense networks kept at most: each is a full set of weights. */
const CACHE_SIZE = 2;
const cache = new Map<string, PretrainedNetwork>();

/**
 * The identity (identity.ts) of the dense run that pre-trains for `config`:
 * the same config as a `dense` run, without the search's own block.
 */
export function pretrainIdentity(config: ExperimentConfig): string {
  return identityText({ ...config, method: 'dense', jackpot: undefined } as unknown as ExperimentConfig);
}

export function cachedPretrained(config: ExperimentConfig): PretrainedNetwork | null {
  return cache.get(pretrainIdentity(config)) ?? null;
}

export function cachePretrained(config: ExperimentConfig, network: PretrainedNetwork): void {
  const key = pretrainIdentity(config);
  cache.delete(key);
  cache.set(key, network);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
}

/** Empties the cache (tests that must pre-train). */
export function clearPretrainedCache(): void {
  cache.clear();
}

/**
 * Throws naming the mismatch when an imported file cannot be the dense
 * network of `config`: another architecture, width or class count. Its
 * variables are checked against the built model when they are loaded.
 */
export function checkImportedNetwork(ticket: Ticket, config: ExperimentConfig, numClasses: number): void {
  const { arch, width } = config.model;
  if (ticket.arch !== arch || ticket.width !== width) {
    throw new Error(`The imported network is ${ticket.arch} at width ${ticket.width}, but the config builds ${arch} at width ${width}: jackpot searches a mask on the configured network`);
  }
  if (ticket.numClasses !== numClasses) {
    throw new Error(`The imported network has ${ticket.numClasses} classes, but the data has ${numClasses}`);
  }
}
