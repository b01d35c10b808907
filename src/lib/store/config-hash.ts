/**
 * The experiment config in the URL hash: JSON, then base64url, so a link
 * carries the whole experiment and survives mail clients and chat apps.
 */
import { parseConfig, type ExperimentConfig } from '../engine/config';

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The hash (without `#`) for a config. */
export function encodeConfigHash(config: ExperimentConfig): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(config)));
}

export type HashReadResult = { config: ExperimentConfig; error: null } | { config: null; error: string };

/**
 * Reads a config from a hash (with or without `#`). An empty hash gives
 * `fallback`; anything unreadable or invalid gives an error saying what was wrong.
 */
export function decodeConfigHash(hash: string, fallback: ExperimentConfig): HashReadResult {
  const text = hash.replace(/^#/, '');
  if (text === '') return { config: fallback, error: null };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64Url(text)));
  } catch {
    return { config: null, error: 'The link does not hold a readable experiment config (expected base64url-encoded JSON after #).' };
  }
  try {
    return { config: parseConfig(json), error: null };
  } catch (error) {
    return { config: null, error: error instanceof Error ? error.message : String(error) };
  }
}
