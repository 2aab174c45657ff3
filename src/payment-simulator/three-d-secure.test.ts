/**
 * 3-D Secure (three-d-secure.ts, challenge-page.ts): the authentication-
 * required test cards stop in `requires_action` with Stripe's `next_action`,
 * the challenge page completes or fails the authentication, and the events
 * follow as Stripe sends them. The challenge page is driven over HTTP as a
 * browser would (GET the page, POST the button's form).
 */
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHALLENGE_MESSAGE_TYPE } from './challenge-page';
import type { PaymentSimulator } from './server';
import { AUTHENTICATION_FAILED_MESSAGE } from './three-d-secure';
import { orderParams, rejection, useSimulator, waitFor, type WebhookReceiver } from './test-support';

let sim: PaymentSimulator;
let receiver: WebhookReceiver;
let stripe: Stripe;
let port: number;

const harness = useSimulator();
beforeAll(() => {
  ({ sim, receiver, stripe, port } = harness);
});

/** The challenge URL of an intent waiting for 3-D Secure, whichever next action it carries. */
function challengeUrlOf(pi: Stripe.PaymentIntent): string {
  const next = pi.next_action;
  const url =
    next?.type === 'redirect_to_url'
      ? next.redirect_to_url?.url
      : (next?.use_stripe_sdk as { stripe_js?: string } | undefined)?.stripe_js;
  if (!url) throw new Error(`no challenge URL in ${JSON.stringify(next)}`);
  return url;
}

/** The client secret in the challenge page's form (what its buttons send back). */
async function formSecret(url: string): Promise<string> {
  const pageHtml = await (await fetch(url)).text();
  const secret = /name="client_secret" value="([^"]+)"/.exec(pageHtml)?.[1];
  if (!secret) throw new Error(`no form on the challenge page:\n${pageHtml}`);
  return secret;
}

/** What pressing one of the page's buttons sends. */
function postAnswer(url: string, secret: string, outcome: string): Promise<Response> {
  const { origin, pathname } = new URL(url);
  return fetch(`${origin}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_secret: secret, outcome }).toString(),
    redirect: 'manual',
  });
}

/** Answers the challenge as the page's buttons do: GET the page, POST its form. */
async function answerChallenge(url: string, outcome: 'complete' | 'fail'): Promise<Response> {
  return postAnswer(url, await formSecret(url), outcome);
}

describe('3-D Secure test cards', () => {
  it.each(['pm_card_authenticationRequired', 'pm_card_threeDSecure2Required'])(
    '%s: confirm answers requires_action with use_stripe_sdk, charges nothing, and completing it pays',
    async (card) => {
      const pi = await stripe.paymentIntents.create(orderParams('order-3ds'));
      const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: card, use_stripe_sdk: true });
      expect(confirmed.status).toBe('requires_action');
      expect(confirmed.latest_charge).toBeNull();
      expect(confirmed.amount_received).toBe(0);
      expect(confirmed.payment_method).toBe(card);
      expect(confirmed.next_action?.type).toBe('use_stripe_sdk');
      const sdk = confirmed.next_action?.use_stripe_sdk as { type: string; stripe_js: string; source: string };
      expect(sdk.type).toBe('three_d_secure_redirect');
      expect(sdk.source).toMatch(/^src_sim_/);
      expect(sdk.stripe_js).toBe(`http://127.0.0.1:${port}/3d_secure/${sdk.source}?client_secret=${new URL(sdk.stripe_js).searchParams.get('client_secret')}`);
      const requiresAction = await waitFor(() => receiver.events('payment_intent.requires_action')[0], 'requires_action webhook');
      expect((requiresAction.data.object as Stripe.PaymentIntent).id).toBe(pi.id);
      expect(receiver.events('payment_intent.succeeded')).toHaveLength(0);

      const page = await fetch(sdk.stripe_js);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<html lang="en">');
      expect(html).toContain('Complete authentication');
      expect(html).toContain('Fail authentication');
      expect(html).toContain('₹25.99');

      const answered = await answerChallenge(sdk.stripe_js, 'complete');
      expect(answered.status).toBe(200);
      // Shown in a frame: it tells the page that framed it, without any secret.
      const done = await answered.text();
      expect(done).toContain(`"type":"${CHALLENGE_MESSAGE_TYPE}"`);
      expect(done).toContain(`"status":"succeeded"`);
      expect(done).not.toContain('secret');

      const paid = await stripe.paymentIntents.retrieve(pi.id);
      expect(paid.status).toBe('succeeded');
      expect(paid.next_action).toBeNull();
      expect(paid.amount_received).toBe(2599);
      const succeeded = await waitFor(() => receiver.events('payment_intent.succeeded')[0], 'succeeded webhook');
      expect((succeeded.data.object as Stripe.PaymentIntent).metadata.orderId).toBe('order-3ds');
      expect(succeeded.request?.id ?? null).toBeNull(); // the customer answered, not an API call
    },
  );

  it('a failed challenge: requires_payment_method, payment_intent_authentication_failure, payment_failed; another card then pays', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-3ds-fail'));
    const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_authenticationRequired', use_stripe_sdk: true });
    const answered = await answerChallenge(challengeUrlOf(confirmed), 'fail');
    expect(await answered.text()).toContain(`"status":"failed"`);

    const failed = await stripe.paymentIntents.retrieve(pi.id);
    expect(failed.status).toBe('requires_payment_method');
    expect(failed.payment_method).toBeNull();
    expect(failed.next_action).toBeNull();
    expect(failed.latest_charge).toBeNull();
    expect(failed.last_payment_error).toMatchObject({
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      message: AUTHENTICATION_FAILED_MESSAGE,
      payment_method: { id: 'pm_card_authenticationRequired', card: { last4: '3184' } },
    });
    const event = await waitFor(() => receiver.events('payment_intent.payment_failed')[0], 'payment_failed webhook');
    expect((event.data.object as Stripe.PaymentIntent).last_payment_error?.code).toBe('payment_intent_authentication_failure');

    const retried = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
    expect(retried.last_payment_error).toBeNull();
  });

  it('with a return_url: redirect_to_url, and the page sends the customer back with the intent and its outcome', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-3ds-redirect'));
    const returnUrl = 'https://shop.example/orders/ord_1?step=pay';
    const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_threeDSecure2Required', return_url: returnUrl });
    expect(confirmed.next_action?.type).toBe('redirect_to_url');
    expect(confirmed.next_action?.redirect_to_url?.return_url).toBe(returnUrl);

    const answered = await answerChallenge(challengeUrlOf(confirmed), 'complete');
    expect(answered.status).toBe(303);
    const back = new URL(answered.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe('https://shop.example/orders/ord_1');
    expect(back.searchParams.get('step')).toBe('pay');
    expect(back.searchParams.get('payment_intent')).toBe(pi.id);
    expect(back.searchParams.get('payment_intent_client_secret')).toBe(pi.client_secret);
    expect(back.searchParams.get('redirect_status')).toBe('succeeded');
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
  });

  it('creating with confirm=true asks for authentication too; error_on_requires_action declines instead', async () => {
    const waiting = await stripe.paymentIntents.create({ ...orderParams(), payment_method: 'pm_card_authenticationRequired', confirm: true });
    expect(waiting.status).toBe('requires_action');

    const pi = await stripe.paymentIntents.create(orderParams());
    const err = await rejection(
      stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_authenticationRequired', error_on_requires_action: true }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.code).toBe('authentication_required');
    expect(err.payment_intent?.status).toBe('requires_payment_method');
  });

  it('answering twice, or after the intent moved on, changes nothing', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-3ds-twice'));
    const url = challengeUrlOf(await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_authenticationRequired', use_stripe_sdk: true }));
    const secret = await formSecret(url);
    expect((await postAnswer(url, secret, 'complete')).status).toBe(200);
    // A double submit, or the back button and the other button: the first answer stands.
    const again = await postAnswer(url, secret, 'fail');
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('Authentication complete');
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
    await sim.settle();
    expect(receiver.events('payment_intent.succeeded')).toHaveLength(1);
    expect(receiver.events('payment_intent.payment_failed')).toHaveLength(0);

    // Confirmed again with another card before answering: the old challenge is void.
    const other = await stripe.paymentIntents.create(orderParams());
    const stale = challengeUrlOf(await stripe.paymentIntents.confirm(other.id, { payment_method: 'pm_card_authenticationRequired', use_stripe_sdk: true }));
    const staleSecret = await formSecret(stale);
    await rejection(stripe.paymentIntents.confirm(other.id, { payment_method: 'pm_card_chargeDeclined' }));
    const staleAnswer = await postAnswer(stale, staleSecret, 'complete');
    expect(await staleAnswer.text()).toContain('no longer needed');
    expect((await stripe.paymentIntents.retrieve(other.id)).status).toBe('requires_payment_method');

    // Cancelled while waiting: the challenge is void, nothing can be paid.
    const cancelled = await stripe.paymentIntents.create(orderParams());
    const voided = challengeUrlOf(await stripe.paymentIntents.confirm(cancelled.id, { payment_method: 'pm_card_authenticationRequired', use_stripe_sdk: true }));
    const afterCancel = await stripe.paymentIntents.cancel(cancelled.id);
    expect(afterCancel.next_action).toBeNull();
    expect(await (await fetch(voided)).text()).toContain('no longer needed');
    expect((await stripe.paymentIntents.retrieve(cancelled.id)).status).toBe('canceled');
  });

  it('refuses a challenge URL with a wrong or missing client secret', async () => {
    const pi = await stripe.paymentIntents.create(orderParams());
    const url = new URL(challengeUrlOf(await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_authenticationRequired', use_stripe_sdk: true })));
    expect((await fetch(`${url.origin}${url.pathname}`)).status).toBe(404);
    expect((await fetch(`${url.origin}${url.pathname}?client_secret=src_client_secret_wrong`)).status).toBe(404);
    const forged = await postAnswer(url.toString(), 'src_client_secret_wrong', 'complete');
    expect(forged.status).toBe(404);
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('requires_action');
  });

  it('the control API pays and authenticates as the customer would', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-3ds-ctl'));
    const base = `http://127.0.0.1:${port}/_sim/payment_intents/${pi.id}`;
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { status?: string; error?: { message: string } } };
    };
    expect((await post('/authenticate', { outcome: 'complete' })).status).toBe(400); // nothing to authenticate yet
    expect((await post('/pay', { paymentMethod: 'pm_card_authenticationRequired' })).body.status).toBe('requires_action');
    expect((await post('/authenticate', { outcome: 'maybe' })).status).toBe(400);
    const done = await post('/authenticate', { outcome: 'complete' });
    expect(done).toMatchObject({ status: 200, body: { status: 'succeeded' } });
    expect(sim.authenticate('pi_sim_nothing', 'fail')).toMatchObject({ ok: false, status: 404 });
  });
});
