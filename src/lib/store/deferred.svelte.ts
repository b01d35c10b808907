/**
 * A reactive value that follows another one task later. Engine events arrive
 * in bursts (a round, its control, a view and a checkpoint together) and
 * every chart they touch redraws in the task that applied them; a chart fed
 * through its own Deferred redraws in a task of its own, so no single task
 * holds the main thread for all of them.
 */
import { untrack } from 'svelte';

export class Deferred<T> {
  current = $state.raw<T>() as T;

  /** Create during component initialisation: it follows `read` for the component's lifetime. */
  constructor(read: () => T) {
    this.current = untrack(read);
    $effect(() => {
      const value = read();
      const timer = setTimeout(() => (this.current = value));
      return () => clearTimeout(timer);
    });
  }
}
