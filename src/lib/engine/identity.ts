/**
 * An experiment's identity: what a run computes, as a short hash of its
 * validated config (open_lth names runs by the hash of their description).
 *
 * - The identity covers every field of the config (seed included) except the
 *   ones that do not change what the run computes: `name`, `description`
 *   and `backend`. Two runs with the same identity are the same experiment:
 *   the CLI gives them the same output folder, and a checkpoint of one may
 *   resume the other.
 * - The setting is the identity without `seed`: runs of one setting are its
 *   seeds, drawn on the chart as one mean line with a band.
 *
 * The hash is SHA-256 (WebCrypto, the same in Node 20+ and browsers) of the
 * canonical JSON of those fields (object keys sorted, undefined fields
 * dropped, so key order and defaults written out or left implicit do not
 * matter), as its first 12 hex digits (48 bits). Code that only compares two
 * configs compares the canonical texts, which is the same test without the
 * asynchronous digest.
 */
import type { ExperimentConfig } from './config';

/** Config fields that do not change what a run computes. */
const NOT_COMPUTED = new Set(['name', 'description', 'backend']);
/** Fields that make runs of one setting different seeds of it. */
const SEEDS = new Set(['seed']);

/** Hex digits of the SHA-256 kept in an identity. */
export const IDENTITY_DIGITS = 12;

/** JSON with object keys sorted and undefined fields dropped: equal configs give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function without(config: ExperimentConfig, ignored: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !ignored.has(key)));
}

/** The canonical text of what a run computes: equal for runs that are the same experiment. */
export function identityText(config: ExperimentConfig): string {
  return canonicalJson(without(config, NOT_COMPUTED));
}

/** The canonical text of a run's setting (its identity without the seed): equal for seeds of one setting. */
export function settingText(config: ExperimentConfig): string {
  return canonicalJson(without(config, new Set([...NOT_COMPUTED, ...SEEDS])));
}

async function shortSha256(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .map((byte) => byte.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, IDENTITY_DIGITS);
}

export interface ExperimentIdentity {
  /** The experiment, seed included: 12 hex digits. */
  id: string;
  /** Its setting, without the seed: shared by every seed of it. */
  setting: string;
}

export async function experimentIdentity(config: ExperimentConfig): Promise<ExperimentIdentity> {
  const [id, setting] = await Promise.all([shortSha256(identityText(config)), shortSha256(settingText(config))]);
  return { id, setting };
}

/**
 * The first field (dot path) where two configs compute different things, with
 * both values; null when they are the same experiment. For messages that say
 * why a checkpoint cannot continue a run.
 */
export function identityDifference(saved: ExperimentConfig, current: ExperimentConfig): string | null {
  if (identityText(saved) === identityText(current)) return null;
  return firstDifference(without(saved, NOT_COMPUTED), without(current, NOT_COMPUTED), '') ?? 'the config changed';
}

function firstDifference(saved: unknown, current: unknown, path: string): string | null {
  if (typeof saved === 'object' && saved !== null && typeof current === 'object' && current !== null) {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])].sort();
    for (const key of keys) {
      const difference = firstDifference(
        (saved as Record<string, unknown>)[key],
        (current as Record<string, unknown>)[key],
        path ? `${path}.${key}` : key,
      );
      if (difference) return difference;
    }
    return null;
  }
  return canonicalJson(saved) === canonicalJson(current)
    ? null
    : `${path} was ${JSON.stringify(saved) ?? 'unset'} in the checkpoint, ${JSON.stringify(current) ?? 'unset'} now`;
}
