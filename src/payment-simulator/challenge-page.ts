/**
 * The 3-D Secure challenge page: what the cardholder's bank shows, here a
 * test page with two buttons, as Stripe's own test page has. Served at
 * `/3d_secure/<source id>?client_secret=…` (the URL in the intent's
 * `next_action`); the client secret in the URL is what lets the page answer.
 *
 *   GET   shows the challenge (or its outcome, if already answered);
 *   POST  `outcome=complete|fail` answers it, then either redirects to the
 *         confirmation's `return_url` with `payment_intent`,
 *         `payment_intent_client_secret` and `redirect_status` (as Stripe
 *         does), or, shown in a frame (use_stripe_sdk), tells the page that
 *         framed it with a postMessage `{ type: 'payment-simulator:3ds',
 *         source, status }` — no secret in it.
 *
 * No CORS, no API key: it is a page for a person, reached by its URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PaymentIntent, ThreeDSecureSource } from './types';
import type { ThreeDSecureService } from './three-d-secure';

export const CHALLENGE_MESSAGE_TYPE = 'payment-simulator:3ds';

const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

function money(intent: PaymentIntent): string {
  const units = ZERO_DECIMAL.has(intent.currency) ? intent.amount : intent.amount / 100;
  try {
    return new Intl.NumberFormat('en-IN', { style: 'currency', currency: intent.currency.toUpperCase() }).format(units);
  } catch {
    return `${units} ${intent.currency.toUpperCase()}`;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface ChallengeDeps {
  threeDSecure: ThreeDSecureService;
  intents: () => ReadonlyMap<string, PaymentIntent>;
  /** Saves what an answer changed; runs before the answer is sent (throws if it cannot be saved). */
  commit: () => void;
}

function page(res: ServerResponse, status: number, title: string, body: string, script = ''): void {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 1.25rem; color: #1a1a1a; background: #fff; }
  main { max-width: 26rem; margin: 0 auto; }
  h1 { font-size: 1.3rem; margin: 0 0 .75rem; }
  .test { background: #fff4ce; border: 2px solid #8a6d00; color: #4d3d00; padding: .5rem .75rem; border-radius: 6px; font-weight: 600; }
  .actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; }
  button { font: inherit; padding: .6rem 1.1rem; border-radius: 6px; border: 2px solid #1d4ed8; cursor: pointer; }
  button.complete { background: #1d4ed8; color: #fff; }
  button.fail { background: #fff; color: #1d4ed8; }
  button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
</style>
</head>
<body>
<main>
${body}
</main>
${script}
</body>
</html>
`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(html)),
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  });
  res.end(html);
}

const TEST_NOTICE = '<p class="test" role="note">Payment simulator test page: no bank and no real card are involved.</p>';

function challengeForm(source: ThreeDSecureSource, intent: PaymentIntent): string {
  const what = intent.description ? ` for ${escapeHtml(intent.description)}` : '';
  return `<h1>3-D Secure check</h1>
${TEST_NOTICE}
<p>Your bank asks you to approve a payment of <strong>${escapeHtml(money(intent))}</strong>${what}.</p>
<form method="post">
  <input type="hidden" name="client_secret" value="${escapeHtml(source.client_secret)}">
  <div class="actions">
    <button class="complete" type="submit" name="outcome" value="complete">Complete authentication</button>
    <button class="fail" type="submit" name="outcome" value="fail">Fail authentication</button>
  </div>
</form>`;
}

function outcomeText(source: ThreeDSecureSource): string {
  switch (source.status) {
    case 'succeeded':
      return 'Authentication complete. You can return to the shop.';
    case 'failed':
      return 'Authentication failed. You can return to the shop and try again.';
    case 'canceled':
      return 'This check is no longer needed: the payment was cancelled or started again.';
    case 'pending':
      return 'This check is still waiting for an answer.';
  }
}

/** Tells the page that framed this one how the check ended; nothing secret in it. */
function notifyOpener(source: ThreeDSecureSource): string {
  const message = JSON.stringify({ type: CHALLENGE_MESSAGE_TYPE, source: source.id, status: source.status });
  return `<script>if (window.parent !== window) window.parent.postMessage(${message}, '*');</script>`;
}

function returnUrlWith(source: ThreeDSecureSource, intent: PaymentIntent): string {
  const url = new URL(source.return_url ?? '');
  url.searchParams.set('payment_intent', intent.id);
  url.searchParams.set('payment_intent_client_secret', intent.client_secret);
  url.searchParams.set('redirect_status', source.status === 'succeeded' ? 'succeeded' : 'failed');
  return url.toString();
}

export function createChallengeHandler({ threeDSecure, intents, commit }: ChallengeDeps) {
  const notFound = (res: ServerResponse) =>
    page(res, 404, 'Check not found', `<h1>Check not found</h1>${TEST_NOTICE}<p>This 3-D Secure link is not valid.</p>`);

  return function handleChallenge(req: IncomingMessage, res: ServerResponse, url: URL, sourceId: string, rawBody: string): void {
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      const source = threeDSecure.find(sourceId, url.searchParams.get('client_secret') ?? '');
      const intent = source && intents().get(source.payment_intent);
      if (!source || !intent) return notFound(res);
      if (source.status === 'pending') return page(res, 200, '3-D Secure check', challengeForm(source, intent));
      return page(res, 200, '3-D Secure check', `<h1>3-D Secure check</h1>${TEST_NOTICE}<p role="status">${outcomeText(source)}</p>`);
    }
    if (method !== 'POST') {
      res.writeHead(405, { Allow: 'GET, POST' }).end();
      return;
    }
    const form = new URLSearchParams(rawBody);
    const outcome = form.get('outcome');
    if (outcome !== 'complete' && outcome !== 'fail') {
      return page(res, 400, 'Choose an answer', `<h1>Choose an answer</h1>${TEST_NOTICE}<p>Use one of the two buttons.</p>`);
    }
    const result = threeDSecure.answer(sourceId, form.get('client_secret') ?? '', outcome);
    if (result.kind === 'unknown') return notFound(res);
    // Saved before the customer hears of it, like every API answer.
    commit();
    const { source, intent } = result;
    if (source.return_url && intent) {
      res.writeHead(303, { Location: returnUrlWith(source, intent), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }).end();
      return;
    }
    page(res, 200, '3-D Secure check', `<h1>3-D Secure check</h1>${TEST_NOTICE}<p role="status">${outcomeText(source)}</p>`, notifyOpener(source));
  };
}
