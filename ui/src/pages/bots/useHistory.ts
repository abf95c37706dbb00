import { useCallback, useRef, useState } from 'react';

const LIMIT = 100;

export interface SetOptions {
  /** False for changes that are not an edit (selection, measured sizes, a drag in progress). */
  record?: boolean;
  /** Consecutive changes with the same key are one undo step (typing in one field). */
  key?: string;
}

/**
 * State with an undo stack. Every recorded change pushes the state before it;
 * all recorded changes made in the same task (a deletion that removes a node
 * and its edges in two callbacks) are one step.
 */
export function useHistory<T>(initial: T) {
  const [state, setState] = useState(initial);
  const current = useRef(initial);
  const past = useRef<T[]>([]);
  const [depth, setDepth] = useState(0);
  const inBatch = useRef(false);
  const lastKey = useRef<string | null>(null);

  const set = useCallback((fn: (s: T) => T, opts: SetOptions = {}) => {
    const prev = current.current;
    const next = fn(prev);
    if (Object.is(next, prev)) return;
    if (opts.record !== false) {
      const key = opts.key ?? null;
      if (!inBatch.current && !(key !== null && key === lastKey.current)) {
        past.current.push(prev);
        if (past.current.length > LIMIT) past.current.shift();
        setDepth(past.current.length);
      }
      lastKey.current = key;
      inBatch.current = true;
      queueMicrotask(() => {
        inBatch.current = false;
      });
    }
    current.current = next;
    setState(next);
  }, []);

  /** Records the present state as a step without changing it (before a drag). */
  const checkpoint = useCallback(() => {
    past.current.push(current.current);
    if (past.current.length > LIMIT) past.current.shift();
    lastKey.current = null;
    setDepth(past.current.length);
  }, []);

  const undo = useCallback(() => {
    const prev = past.current.pop();
    if (prev === undefined) return;
    lastKey.current = null;
    current.current = prev;
    setState(prev);
    setDepth(past.current.length);
  }, []);

  const reset = useCallback((value: T) => {
    past.current = [];
    lastKey.current = null;
    current.current = value;
    setState(value);
    setDepth(0);
  }, []);

  return { state, set, undo, reset, checkpoint, canUndo: depth > 0, current };
}
