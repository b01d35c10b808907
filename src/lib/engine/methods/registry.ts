/** Method registry: a new method is one file plus one line here. */
import type { MethodName } from '../config';
import { colt } from './colt';
import { dense } from './dense';
import { earlybird } from './earlybird';
import { imp } from './imp';
import type { PruningMethod } from './method';
import { retrain } from './retrain';
import { worm } from './worm';

export const METHOD_REGISTRY: Partial<Record<MethodName, PruningMethod>> = {
  dense,
  imp,
  colt,
  earlybird,
  worm,
  retrain,
};

export function getMethod(name: MethodName): PruningMethod {
  const method = METHOD_REGISTRY[name];
  if (!method) throw new Error(`Method "${name}" is not available in this build`);
  return method;
}
