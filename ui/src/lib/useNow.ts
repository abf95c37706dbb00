import { useEffect, useState } from 'react';

/** The current time, refreshed every `every` ms (countdowns, waiting times). */
export function useNow(every = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(id);
  }, [every]);
  return now;
}
