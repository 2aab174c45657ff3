'use client';
/**
 * How long the items stay held, counting down each second. Measured against
 * the server's clock (the view's serverTime), so a buyer whose device clock
 * is off still sees the right time left.
 */
import { useEffect, useState } from 'react';

function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

function clock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function HoldCountdown({ expiresAt, clockOffsetMs, onElapsed }: { expiresAt: string; clockOffsetMs: number; onElapsed: () => void }) {
  const now = useNow(1000);
  const left = new Date(expiresAt).getTime() - (now + clockOffsetMs);
  const elapsed = left <= 0;
  useEffect(() => {
    if (elapsed) onElapsed();
  }, [elapsed, onElapsed]);
  const until = new Date(new Date(expiresAt).getTime() - clockOffsetMs).toLocaleTimeString();
  return elapsed ? (
    <p className="countdown countdown-over" data-testid="hold-countdown">
      The hold on your items has ended; we are releasing them.
    </p>
  ) : (
    <p className="countdown" data-testid="hold-countdown">
      Items held for you for <span role="timer" className="countdown-clock">{clock(left)}</span> more (until {until}).
    </p>
  );
}
