/**
 * Lists refresh on their own (UI contract: at least every 5 s) without a reload, while the tab is
 * visible; a refused login stops them (see logic/poll-loop.ts).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { LoginError } from './api.ts';
import { failureText } from './logic/failures.ts';
import { PollLoop, type PollEnvironment } from './logic/poll-loop.ts';

export const POLL_INTERVAL_MS = 3000;

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  /** Fetch now (after an action), without waiting for the next tick. */
  refresh: () => void;
}

const browser: PollEnvironment = {
  setInterval: (tick, ms) => window.setInterval(tick, ms),
  clearInterval: (timer) => window.clearInterval(timer),
  hidden: () => document.hidden,
  onVisibilityChange: (listener) => {
    document.addEventListener('visibilitychange', listener);
    return () => document.removeEventListener('visibilitychange', listener);
  },
};

export function usePolling<T>(load: () => Promise<T>, key: string): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const loop = useRef<PollLoop<T> | undefined>(undefined);

  useEffect(() => {
    setData(undefined);
    setError(undefined);
    const current = new PollLoop<T>(
      {
        load: () => loadRef.current(),
        data: (value) => {
          setData(value);
          setError(undefined);
        },
        error: (err) => setError(failureText(err)),
        isFinal: (err) => err instanceof LoginError,
      },
      browser,
      POLL_INTERVAL_MS,
    );
    loop.current = current;
    current.start();
    return () => current.stop();
  }, [key]);
  const refresh = useCallback(() => loop.current?.refresh(), []);

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
