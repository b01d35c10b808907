import { describe, expect, it } from 'vitest';
import { METHOD_REGISTRY } from '../engine/methods/registry';
import { activePreset, PRESETS, presetConfig } from './presets';

describe('classroom presets', () => {
  it('each preset is a valid config on the built-in synthetic set, for a registered method', () => {
    for (const preset of PRESETS) {
      const config = presetConfig(preset);
      expect(config.data.source, preset.id).toBe('synthetic');
      expect(METHOD_REGISTRY[config.method], preset.id).toBeDefined();
      expect(preset.title.endsWith('?'), preset.id).toBe(true);
      // Two sentences: what to look at, and what this small run can and cannot show.
      expect(preset.guidance.split(/(?<=[.?!])\s+/), preset.id).toHaveLength(2);
    }
    expect(new Set(PRESETS.map((p) => p.id)).size).toBe(PRESETS.length);
  });

  it('the ticket-vs-random preset trains both random controls beside the ticket', () => {
    const config = presetConfig(PRESETS.find((p) => p.id === 'ticket-vs-random')!);
    expect(config.method).toBe('imp');
    expect([...config.controls].sort()).toEqual(['randomPrune', 'randomReinit']);
  });

  it('a loaded preset is recognised until one field changes', () => {
    const [first, second] = PRESETS;
    expect(activePreset(presetConfig(first))?.id).toBe(first.id);
    expect(activePreset(presetConfig(second))?.id).toBe(second.id);
    const edited = presetConfig(first);
    edited.seed += 1;
    expect(activePreset(edited)).toBeUndefined();
    expect(activePreset(null)).toBeUndefined();
  });
});
