/**
 * The method registry: one line per method. The list of method names, the
 * config schema's method blocks, the help sections of methods, the builder's
 * option panels and the results union all derive from it.
 */
import { colt } from './colt/index';
import { dense } from './dense/index';
import { earlybird } from './earlybird/index';
import { edgepopup } from './edgepopup/index';
import { imp } from './imp/index';
import { kslottery } from './kslottery/index';
import { jackpot } from './jackpot/index';
import type { MethodContext, PruningMethod } from './method';
import { ownership } from './ownership/index';
import { retrain } from './retrain/index';
import { supertickets } from './supertickets/index';
import { worm } from './worm/index';

export const METHOD_REGISTRY = {
  dense,
  imp,
  earlybird,
  worm,
  colt,
  retrain,
  kslottery,
  jackpot,
  edgepopup,
  ownership,
  supertickets,
};

export type MethodRegistry = typeof METHOD_REGISTRY;
export type MethodName = keyof MethodRegistry;
/** What a method returns beside `rounds`: its part of results.json. */
export type MethodOutputOf<Name extends MethodName> = Awaited<ReturnType<MethodRegistry[Name]['run']>>;
/** What a method's checkpoints carry as `state`. */
export type MethodStateOf<Name extends MethodName> = MethodRegistry[Name]['run'] extends (ctx: MethodContext<infer State>) => unknown ? State : never;
/** Methods with a config block of their own (`config[name]`). */
export type BlockMethodName = { [Name in MethodName]: MethodRegistry[Name]['schema'] extends null ? never : Name }[MethodName];

export const METHODS = Object.keys(METHOD_REGISTRY) as MethodName[];

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHOD_REGISTRY, name);
}

export function getMethod(name: MethodName): PruningMethod {
  if (!isMethodName(name)) throw new Error(`Method "${String(name)}" is not available in this build`);
  return METHOD_REGISTRY[name] as PruningMethod;
}
