/** Lists refresh on their own (UI contract: at least every 5 s) without a reload. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { PollGate } from './logic/poll-gate.ts';

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
  const gate = useRef(new PollGate());

  const fetchNow = useCallback((force: boolean) => {
    const ticket = gate.current.begin(force);
    if (ticket === undefined) return;
    loadRef.current().then(
      (value) => {
        if (!gate.current.settle(ticket)) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => {
        if (!gate.current.settle(ticket)) return;
        setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      },
    );
  }, []);
  const refresh = useCallback(() => fetchNow(true), [fetchNow]);

  useEffect(() => {
    setData(undefined);
    setError(undefined);
    fetchNow(true);
    const timer = window.setInterval(() => fetchNow(false), POLL_INTERVAL_MS);
    return () => {
      window.clearInterval(timer);
      gate.current.reset();
    };
  }, [key, fetchNow]);

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
