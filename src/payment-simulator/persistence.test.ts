/**
 * The state file (state-file.ts): what a restart keeps, what it refuses to
 * start from, and — with the real process killed by SIGKILL right after an
 * answer — that an answered call is never lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPaymentSimulator, type EventRecord, type PaymentSimulator } from './server';
import { StateFileError } from './state-file';
import { orderParams, SECRET, waitFor, WebhookReceiver } from './test-support';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

let dir: string;
let file: string;
let receiver: WebhookReceiver;
const open: PaymentSimulator[] = [];

beforeAll(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
});

afterAll(async () => {
  await receiver.stop();
});

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sim-state-'));
  file = path.join(dir, 'state.json');
  receiver.reset();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** An in-process simulator on this test's state file, listening, with an SDK client. */
async function simulator(extra: { compactAfterBytes?: number } = {}): Promise<{ sim: PaymentSimulator; stripe: Stripe; port: number }> {
  const sim = createPaymentSimulator({ webhookSecret: SECRET, webhookUrl: receiver.url, stateFile: file, ...extra });
  open.push(sim);
  const { port } = await sim.listen(0);
  return { sim, port, stripe: new Stripe('sk_test_simulator', { host: '127.0.0.1', port, protocol: 'http' }) };
}

async function closeSim(sim: PaymentSimulator): Promise<void> {
  open.splice(open.indexOf(sim), 1);
  await sim.close();
}

const summary = (records: EventRecord[]) =>
  records.map((r) => [r.id, r.type, r.dropped, r.deliveries.map((d) => [d.id, d.status, d.attempts.length])]);

describe('a restart on the same state file', () => {
  it('keeps intents, charges, refunds, disputes, idempotency keys and events', async () => {
    const first = await simulator();
    first.sim.configure({ asyncDelayMs: 0 });
    const paid = await first.stripe.paymentIntents.create(
      { ...orderParams('order-paid'), payment_method: 'pm_card_refundFail', confirm: true },
      { idempotencyKey: 'create-paid' },
    );
    const unpaid = await first.stripe.paymentIntents.create(orderParams('order-unpaid'), { idempotencyKey: 'create-unpaid' });
    const refund = await first.stripe.refunds.create({ payment_intent: paid.id, metadata: { orderId: 'order-paid' } });
    await first.sim.settle(); // the refund has failed before the next payment, for a fixed event order
    const disputed = await first.stripe.paymentIntents.create({ ...orderParams('order-dp'), payment_method: 'pm_card_createDispute', confirm: true });
    expect(await first.sim.settle()).toBe(true);
    const events = first.sim.events();
    expect(events.map((e) => e.type)).toEqual([
      'payment_intent.succeeded',
      'charge.refunded',
      'refund.created',
      'refund.updated',
      'refund.failed',
      'payment_intent.succeeded',
      'charge.dispute.created',
    ]);
    const intents = first.sim.paymentIntents();
    await closeSim(first.sim);

    const second = await simulator();
    expect(second.sim.paymentIntents()).toEqual(intents);
    expect(summary(second.sim.events())).toEqual(summary(events));
    expect((await second.stripe.refunds.retrieve(refund.id)).status).toBe('failed');
    expect((await second.stripe.charges.retrieve(disputed.latest_charge as string)).disputed).toBe(true);
    const disputeId = (events.at(-1)?.event.data.object as { id: string }).id;
    expect((await second.stripe.disputes.retrieve(disputeId)).payment_intent).toBe(disputed.id);
    expect((await second.stripe.events.retrieve(String(events[0]?.id))).type).toBe('payment_intent.succeeded');

    const again = await second.stripe.paymentIntents.create(orderParams('order-unpaid'), { idempotencyKey: 'create-unpaid' });
    expect(again.id).toBe(unpaid.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    // Switches and counts are the test's instruments, not the account: they start afresh.
    expect(second.sim.config().asyncDelayMs).not.toBe(0);
    expect(second.sim.requestCounts().replays).toBe(1);
  });

  it('keeps a 3-D Secure challenge open across the restart, and answering it then pays', async () => {
    const first = await simulator();
    const pi = await first.stripe.paymentIntents.create(orderParams('order-3ds'));
    const waiting = await first.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_threeDSecure2Required', use_stripe_sdk: true });
    const challenge = new URL((waiting.next_action?.use_stripe_sdk as { stripe_js: string }).stripe_js);
    await closeSim(first.sim);

    const second = await simulator();
    expect((await second.stripe.paymentIntents.retrieve(pi.id)).status).toBe('requires_action');
    // The same page and secret; only the port is new (a test listens on any free one).
    const base = `http://127.0.0.1:${second.port}${challenge.pathname}`;
    expect(await (await fetch(`${base}${challenge.search}`)).text()).toContain('Complete authentication');
    const answered = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_secret: challenge.searchParams.get('client_secret') ?? '', outcome: 'complete' }).toString(),
    });
    expect(answered.status).toBe(200);
    expect((await second.stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
  });

  it('compacts the file while it grows and loses nothing doing so', async () => {
    const first = await simulator({ compactAfterBytes: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const pi = await first.stripe.paymentIntents.create(orderParams(`order-${i}`), { idempotencyKey: `create-${i}` });
      if (i % 2 === 0) await first.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
      ids.push(pi.id);
    }
    await first.sim.settle();
    // Compacted since the first intent was paid: only its last value is left in the file.
    const records = readFileSync(file, 'utf8').trimEnd().split('\n').slice(1).flatMap((line) => JSON.parse(line) as Array<{ t: string; v?: { id?: string } }>);
    expect(records.filter((r) => r.t === 'object' && r.v?.id === ids[0]).length).toBe(1);
    await closeSim(first.sim);

    const second = await simulator();
    expect(second.sim.paymentIntents().map((p) => [p.id, p.status])).toEqual(
      ids.map((id, i) => [id, i % 2 === 0 ? 'succeeded' : 'requires_payment_method']),
    );
    expect(second.sim.events({ type: 'payment_intent.succeeded' })).toHaveLength(20);
  });

  it('reset() empties the file too', async () => {
    const first = await simulator();
    await first.stripe.paymentIntents.create(orderParams());
    first.sim.reset();
    await closeSim(first.sim);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1); // the header alone
    const second = await simulator();
    expect(second.sim.paymentIntents()).toEqual([]);
    expect(second.sim.events()).toEqual([]);
  });

  it('is refused to a second simulator while the first has it, and free again after close', async () => {
    const first = await simulator();
    expect(() => createPaymentSimulator({ webhookSecret: SECRET, stateFile: file })).toThrow(/in use by process/);
    await closeSim(first.sim);
    expect(existsSync(`${file}.lock`)).toBe(false);
    await simulator();
  });
});

describe('a damaged state file', () => {
  const header = JSON.stringify({ format: 'resilient-orders payment simulator state', version: 1 });
  const intentLine = (id: string) => JSON.stringify([{ t: 'object', v: { id, object: 'payment_intent', status: 'requires_payment_method', metadata: {} } }]);

  it.each([
    ['empty', '', /line 1: the file is empty/],
    ['not ours', '{"hello":"world"}\n', /line 1: not a payment simulator state file/],
    ['a newer version', `${JSON.stringify({ ...JSON.parse(header), version: 9 })}\n`, /line 1: unsupported version 9/],
    ['garbage in the middle', `${header}\n${intentLine('pi_a')}\n{not json\n${intentLine('pi_b')}\n`, /line 3: not valid JSON/],
    ['a complete but broken last line', `${header}\n${intentLine('pi_a')}\n[{"t":"object"\n`, /line 3: not valid JSON/],
    ['an unknown record', `${header}\n[{"t":"mystery"}]\n`, /line 2: an unknown record type "mystery"/],
    ['a delivery without its event', `${header}\n[{"t":"delivery","eventId":"evt_x","v":{"id":"d","status":"pending","attempts":[]}}]\n`, /line 2: a delivery for an unknown event/],
  ])('stops the simulator naming the file: %s', (_name, content, problem) => {
    writeFileSync(file, content);
    let error: unknown;
    try {
      createPaymentSimulator({ webhookSecret: SECRET, stateFile: file });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StateFileError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(problem);
    // Refused without taking the file: nothing was rewritten and no lock is left.
    expect(readFileSync(file, 'utf8')).toBe(content);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('drops a torn last line (a write cut short by a crash), saying so, and keeps the rest', async () => {
    writeFileSync(file, `${header}\n${intentLine('pi_sim_kept')}\n[{"t":"object","v":{"id":"pi_sim_to`);
    const logged: string[] = [];
    const sim = createPaymentSimulator({ webhookSecret: SECRET, stateFile: file, logger: (msg) => logged.push(msg) });
    open.push(sim);
    expect(sim.paymentIntents().map((p) => p.id)).toEqual(['pi_sim_kept']);
    expect(logged.some((m) => m.includes('torn last line'))).toBe(true);
    // Rewritten at once, so that what is appended next does not follow the torn line.
    expect(readFileSync(file, 'utf8')).not.toContain('pi_sim_to"');
    await closeSim(sim);
  });
});

// ---------------------------------------------------------------- the real process

interface SimProcess {
  child: ChildProcess;
  url: string;
  stripe: Stripe;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts `main.ts` as `npm run simulator` does, on a free port, and waits until it listens. */
async function startProcess(env: Record<string, string>): Promise<SimProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { ...process.env, SIM_PORT: '0', SIM_HOST: '127.0.0.1', STRIPE_WEBHOOK_SECRET: SECRET, SIM_WEBHOOK_URL: receiver.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = (): string | undefined => {
    for (const line of out.split('\n')) {
      if (!line.includes('"payment simulator listening"')) continue;
      return (JSON.parse(line) as { url: string }).url;
    }
    if (child.exitCode !== null) throw new Error(`the simulator exited with ${child.exitCode}: ${err}`);
    return undefined;
  };
  const url = await waitFor(listening, 'the simulator process to listen', 20_000);
  const { hostname, port } = new URL(url);
  const stripe = new Stripe('sk_test_simulator', { host: hostname, port: Number(port), protocol: 'http' });
  return { child, url, stripe, exited, stderr: () => err };
}

async function control<T>(proc: SimProcess, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${proc.url}/_sim${route}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  return (await res.json()) as T;
}

describe('the simulator process killed with SIGKILL', () => {
  let proc: SimProcess | undefined;

  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    proc = undefined;
  });

  it('comes back with every answered call: intents payable, keys replayed, deliveries resumed and held ones kept', async () => {
    // Deliveries fail for now and wait a minute before retrying: at the kill one is pending.
    receiver.respond = () => 503;
    proc = await startProcess({ SIM_STATE_FILE: file });
    await control(proc, 'POST', '/config', { retry: { attempts: 10, baseDelayMs: 60_000 }, asyncDelayMs: 5000 });

    const paid = await proc.stripe.paymentIntents.create({ ...orderParams('order-paid'), payment_method: 'pm_card_visa', confirm: true }, { idempotencyKey: 'create-paid' });
    await waitFor(() => receiver.deliveries.length === 1, 'the first, failing, delivery', 10_000);
    await waitFor(
      async () => (await control<EventRecord[]>(proc!, 'GET', '/events'))[0]?.deliveries[0]?.attempts.length === 1,
      'the failed attempt to be recorded',
      10_000,
    );

    await control(proc, 'POST', '/config', { hold: true });
    const canceled = await proc.stripe.paymentIntents.create(orderParams('order-canceled'));
    await proc.stripe.paymentIntents.cancel(canceled.id);
    const disputed = await proc.stripe.paymentIntents.create({ ...orderParams('order-dp'), payment_method: 'pm_card_createDispute', confirm: true });
    const unpaid = await proc.stripe.paymentIntents.create(orderParams('order-unpaid'), { idempotencyKey: 'create-unpaid' });
    // Killed the moment the last answer arrived: nothing gets a chance to write afterwards.
    proc.child.kill('SIGKILL');
    await proc.exited;
    expect(existsSync(`${file}.lock`)).toBe(true); // a dead owner's lock, taken over below

    receiver.respond = () => 200;
    proc = await startProcess({ SIM_STATE_FILE: file });
    const { stripe } = proc;

    // The unpaid intent is there and can still be paid.
    expect((await stripe.paymentIntents.retrieve(unpaid.id)).status).toBe('requires_payment_method');
    const payLater = await stripe.paymentIntents.confirm(unpaid.id, { payment_method: 'pm_card_visa' });
    expect(payLater.status).toBe('succeeded');
    // The idempotency key still answers with the same intent, without creating another.
    const replay = await stripe.paymentIntents.create(orderParams('order-unpaid'), { idempotencyKey: 'create-unpaid' });
    expect(replay.id).toBe(unpaid.id);
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
    const paidAgain = await stripe.paymentIntents.retrieve(paid.id, { expand: ['latest_charge'] });
    expect(paidAgain.status).toBe('succeeded');
    expect((paidAgain.latest_charge as Stripe.Charge).status).toBe('succeeded');

    // The pending delivery resumed on its own, as attempt 2, with the same event.
    const resumed = await waitFor(
      () => receiver.events('payment_intent.succeeded').find((e) => (e.data.object as Stripe.PaymentIntent).id === paid.id),
      'the resumed delivery',
      10_000,
    );
    const records = await control<EventRecord[]>(proc, 'GET', '/events');
    const paidRecord = records.find((r) => r.id === resumed.id);
    await waitFor(
      async () => (await control<EventRecord>(proc!, 'GET', `/events/${resumed.id}`)).deliveries[0]?.status === 'succeeded',
      'the delivery to be recorded as succeeded',
      10_000,
    );
    expect((await control<EventRecord>(proc, 'GET', `/events/${resumed.id}`)).deliveries[0]?.attempts.map((a) => a.statusCode)).toEqual([503, 200]);
    expect(paidRecord?.type).toBe('payment_intent.succeeded');

    // The dispute scheduled before the kill still opens.
    const dispute = await waitFor(() => receiver.events('charge.dispute.created')[0], 'the scheduled dispute', 15_000);
    expect((dispute.data.object as Stripe.Dispute).payment_intent).toBe(disputed.id);

    // Held deliveries stay held (the switches start afresh, the held queue does not) until flushed:
    // the cancellation and the disputed payment, both made while hold was on.
    const held = records.filter((r) => r.deliveries.some((d) => d.status === 'held'));
    expect(held.map((r) => [r.type, (r.event.data.object as { id: string }).id])).toEqual([
      ['payment_intent.canceled', canceled.id],
      ['payment_intent.succeeded', disputed.id],
    ]);
    expect(receiver.events('payment_intent.canceled')).toHaveLength(0);
    expect(await control(proc, 'POST', '/flush')).toEqual({ delivered: 2 });
    expect(receiver.events().slice(-2).map((e) => e.id)).toEqual(held.map((r) => r.id));

    // A clean stop releases the file.
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(existsSync(`${file}.lock`)).toBe(false);
  }, 90_000);

  it('refuses to start from a damaged file, with a message naming it', async () => {
    writeFileSync(file, 'this is not a state file\n');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: ROOT,
      env: { ...process.env, SIM_PORT: '0', STRIPE_WEBHOOK_SECRET: SECRET, SIM_STATE_FILE: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain(`payment-simulator: the payment simulator state file ${file} is damaged (line 1`);
    expect(err).toContain('move the file away');
  }, 30_000);
});
