import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './config';
import { canonicalJson, experimentIdentity, identityDifference, identityText, settingText } from './identity';

const base = parseConfig({ name: 'a', seed: 1, method: 'imp', model: { arch: 'conv-2', width: 0.5 } });

describe('experiment identity', () => {
  it('is the first 12 hex digits of the SHA-256 of the canonical text, as any SHA-256 computes it', async () => {
    const { id, setting } = await experimentIdentity(base);
    expect(id).toBe(createHash('sha256').update(identityText(base)).digest('hex').slice(0, 12));
    expect(setting).toBe(createHash('sha256').update(settingText(base)).digest('hex').slice(0, 12));
    expect(id).toMatch(/^[0-9a-f]{12}$/);
  });

  it('writes canonical JSON with sorted keys and no undefined fields', () => {
    expect(canonicalJson({ b: [1, { d: 2, c: undefined, a: 'x' }], a: null })).toBe('{"a":null,"b":[1,{"a":"x","d":2}]}');
  });

  it('ignores key order, name, description and backend; the seed changes the experiment but not its setting', async () => {
    const reordered = parseConfig({ model: { width: 0.5, arch: 'conv-2' }, method: 'imp', seed: 1, name: 'b', description: 'x', backend: 'cpu' });
    expect(await experimentIdentity(reordered)).toEqual(await experimentIdentity(base));
    const otherSeed = await experimentIdentity(parseConfig({ ...base, seed: 2 }));
    expect(otherSeed.id).not.toBe((await experimentIdentity(base)).id);
    expect(otherSeed.setting).toBe((await experimentIdentity(base)).setting);
    const otherWidth = await experimentIdentity(parseConfig({ ...base, model: { arch: 'conv-2', width: 0.25 } }));
    expect(otherWidth.setting).not.toBe((await experimentIdentity(base)).setting);
  });

  it('names the first field where two configs compute different things', () => {
    expect(identityDifference(base, parseConfig({ ...base, name: 'renamed', backend: 'wasm' }))).toBeNull();
    expect(identityDifference(base, parseConfig({ ...base, seed: 4 }))).toBe('seed was 1 in the checkpoint, 4 now');
    expect(identityDifference(base, parseConfig({ ...base, train: { lr: 0.5 } }))).toBe('train.lr was 0.0002 in the checkpoint, 0.5 now');
  });

  it('keeps the identity of configs from before the synthetic difficulty existed; the easy set is another setting', async () => {
    const before = await experimentIdentity(base);
    expect(await experimentIdentity(parseConfig({ ...base, data: { syntheticDifficulty: 'standard' } }))).toEqual(before);
    expect(identityText(base)).not.toContain('syntheticDifficulty');
    const easy = await experimentIdentity(parseConfig({ ...base, data: { syntheticDifficulty: 'easy' } }));
    expect(easy.setting).not.toBe(before.setting);
  });
});
