'use client';
/**
 * The bank's 3-D Secure check in a modal dialog, as Stripe.js shows it: the
 * challenge page in a frame. Done when the page says so (a postMessage from
 * the payment service's origin) or when the intent stops waiting (checked
 * every few seconds, in case a message is lost); Escape or "Close" leaves
 * it unfinished, and the buyer can open it again.
 */
import { useEffect, useRef } from 'react';

/** What the simulator's challenge page posts when it is answered (payment-simulator/challenge-page.ts). */
const CHALLENGE_MESSAGE_TYPE = 'payment-simulator:3ds';

export function ThreeDSecureDialog({
  url,
  onAnswered,
  onClose,
  stillWaiting,
}: {
  url: string;
  /** The check was answered (either way): look at the intent. */
  onAnswered: () => void;
  /** Closed without an answer. */
  onClose: () => void;
  /** Whether the intent still waits for the check (a fallback for a lost message). */
  stillWaiting: () => Promise<boolean>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  // The latest callbacks, without reopening the dialog when they change.
  const answered = useRef(onAnswered);
  const waiting = useRef(stillWaiting);
  answered.current = onAnswered;
  waiting.current = stillWaiting;
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    const origin = new URL(url).origin;
    const onMessage = (e: MessageEvent) => {
      const data = e.data as { type?: unknown } | null;
      if (e.origin === origin && data?.type === CHALLENGE_MESSAGE_TYPE) answered.current();
    };
    window.addEventListener('message', onMessage);
    let stopped = false;
    const poll = setInterval(() => {
      void waiting.current().then(
        (still) => {
          if (!still && !stopped) answered.current();
        },
        () => undefined, // unreachable for a moment: ask again next time
      );
    }, 3_000);
    return () => {
      stopped = true;
      clearInterval(poll);
      window.removeEventListener('message', onMessage);
      if (d?.open) d.close();
    };
  }, [url]);

  return (
    <dialog
      ref={dialog}
      className="challenge"
      aria-labelledby="challenge-heading"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div className="challenge-header">
        <h2 id="challenge-heading">Approve the payment with your bank</h2>
        <button type="button" className="button button-link" onClick={onClose}>
          Close
        </button>
      </div>
      <iframe className="challenge-frame" title="3-D Secure check" src={url} referrerPolicy="no-referrer" />
    </dialog>
  );
}
