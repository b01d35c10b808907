import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config';

describe('parseConfig on numbers JSON cannot hold', () => {
  it('refuses Infinity (JSON reads 1e999 as Infinity) anywhere, naming the field', () => {
    const lr = JSON.parse('{"method": "imp", "train": {"lr": 1e999}}');
    expect(() => parseConfig(lr)).toThrow(ConfigError);
    expect(() => parseConfig(lr)).toThrow(/^Invalid experiment config: train\.lr: must be a finite number/);
    expect(() => parseConfig(JSON.parse('{"train": {"weightDecay": 1e999}}'))).toThrow(/train\.weightDecay: must be a finite number/);
    expect(() => parseConfig({ earlybird: { ratios: [0.3, -Infinity] } })).toThrow(/earlybird\.ratios\[1\]: must be a finite number/);
    expect(() => parseConfig({ seed: NaN })).toThrow(/seed: must be a finite number/);
  });

  it('accepts the same configs with finite numbers', () => {
    expect(parseConfig({ method: 'imp', train: { lr: 1e-3, weightDecay: 5e-4 } }).train.lr).toBe(1e-3);
  });
});
