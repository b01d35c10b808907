/**
 * The experiment a page load starts from: the config in the URL hash (or the
 * lab defaults), with `?backend=` overriding its backend so a link can force
 * one without editing the config.
 */
import { BACKENDS, type BackendRequest, type ExperimentConfig } from '../engine/config';
import { decodeConfigHash } from './config-hash';
import { LAB_DEFAULTS } from './lab-defaults';

export interface InitialState {
  config: ExperimentConfig;
  /** What was wrong with the URL, shown to the user; null when it was fine. */
  error: string | null;
}

function isBackendRequest(value: string): value is BackendRequest {
  return (BACKENDS as readonly string[]).includes(value);
}

export function readUrlState(location: { hash: string; search: string }): InitialState {
  const read = decodeConfigHash(location.hash, LAB_DEFAULTS);
  const errors: string[] = [];
  let config = read.config ?? LAB_DEFAULTS;
  if (read.error !== null) errors.push(`${read.error} Showing the default experiment instead.`);
  const backend = new URLSearchParams(location.search).get('backend');
  if (backend !== null) {
    if (isBackendRequest(backend)) config = { ...config, backend };
    else errors.push(`Unknown backend "${backend}" in ?backend= (expected ${BACKENDS.join(', ')}); using ${config.backend}.`);
  }
  return { config, error: errors.length ? errors.join(' ') : null };
}
