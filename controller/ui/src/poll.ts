/** Lists refresh on their own (UI contract: at least every 5 s) without a reload. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export const POLL_INTERVAL_MS = 3000;

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  /** Fetch now (after an action), without waiting for the next tick. */
  refresh: () => void;
}

export function usePolling<T>(load: () => Promise<T>, key: string): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const refresh = useCallback(() => {
    const mine = ++generation.current;
    loadRef.current().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      },
    );
  }, []);

  useEffect(() => {
    setData(undefined);
    setError(undefined);
    refresh();
    const timer = window.setInterval(refresh, POLL_INTERVAL_MS);
    return () => {
      window.clearInterval(timer);
      generation.current++;
    };
  }, [key, refresh]);

  return { data, error, refresh };
}

/** The current time, ticking every second, for "… left" texts. */
export function useNow(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(new Date()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}
