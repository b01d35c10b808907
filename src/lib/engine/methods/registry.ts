/** Method registry: a new method is one file plus one line here. */
import type { MethodName } from '../config';
import { dense } from './dense';
import { imp } from './imp';
import type { PruningMethod } from './method';

export const METHOD_REGISTRY: Partial<Record<MethodName, PruningMethod>> = {
  dense,
  imp,
};

export function getMethod(name: MethodName): PruningMethod {
  const method = METHOD_REGISTRY[name];
  if (!method) throw new Error(`Method "${name}" is not available in this build`);
  return method;
}
