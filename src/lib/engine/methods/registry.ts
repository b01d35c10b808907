/** Method registry: a new method is one file plus one line here. */
import type { MethodName } from '../config';
import { colt } from './colt/index';
import { dense } from './dense/index';
import { earlybird } from './earlybird/index';
import { imp } from './imp/index';
import type { PruningMethod } from './method';
import { retrain } from './retrain/index';
import { worm } from './worm/index';

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
