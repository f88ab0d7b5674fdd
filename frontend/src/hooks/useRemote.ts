import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, describeError } from "../api/client";
import type { Screen } from "../lib/screen";

/**
 * Loads data for a screen and exposes it as a Screen union. `isEmpty` turns a loaded but empty
 * answer into the empty state; `pollMs` reloads quietly (no loading flash) while mounted.
 */
export function useRemote<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: { isEmpty?: (data: T) => string | null; pollMs?: number | null } = {},
): { screen: Screen<T>; reload: () => void } {
  const [screen, setScreen] = useState<Screen<T>>({ status: "loading" });
  const loadRef = useRef(load);
  loadRef.current = load;
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let alive = true;
    const run = async () => {
      try {
        const data = await loadRef.current();
        if (!alive) return;
        const empty = optionsRef.current.isEmpty?.(data) ?? null;
        setScreen(empty ? { status: "empty", message: empty } : { status: "ready", data });
      } catch (error) {
        if (!alive) return;
        setScreen({ status: "error", message: describeError(error), code: error instanceof ApiError ? error.code : undefined });
      }
    };
    void run();
    const pollMs = optionsRef.current.pollMs;
    const timer = pollMs ? window.setInterval(() => void run(), pollMs) : null;
    return () => {
      alive = false;
      if (timer) window.clearInterval(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, options.pollMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { screen, reload };
}

/** Runs one user action (a form submit, a button) and keeps its pending/error state. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const actionRef = useRef(action);
  actionRef.current = action;
  const run = useCallback(async (...args: A): Promise<R | undefined> => {
    setPending(true);
    setError(null);
    try {
      return await actionRef.current(...args);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
      return undefined;
    } finally {
      setPending(false);
    }
  }, []);
  return { run, pending, error, clearError: () => setError(null) };
}
