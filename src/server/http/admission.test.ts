import { describe, expect, it, vi } from 'vitest';
import { isDomainError } from '../errors';
import { Admission, admissionPriority, outsideAdmission, type AdmissionOutcome } from './admission';

/** A call that runs until released, recording when it started. */
function gatedCall(log: string[], name: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    call: async () => {
      log.push(name);
      await gate;
      return name;
    },
    release: () => release(),
  };
}

/** A call that finishes at once, asynchronously. */
const job = <T>(f: () => T) => (): Promise<T> => Promise.resolve().then(f);
const tick = () => new Promise((r) => setImmediate(r));
/** A BUSY refusal; its Retry-After is about the time the waiting calls take to drain (1 s at least). */
const busy = (err: unknown, retryAfterSeconds = 1) => isDomainError(err) && err.code === 'BUSY' && err.details?.retryAfterSeconds === retryAfterSeconds;

describe('admission', () => {
  it('runs at most maxRunning calls at once; the rest wait and run in arrival order', async () => {
    const admission = new Admission({ maxRunning: 2, maxQueued: 10, maxWaitMs: 10_000 });
    const log: string[] = [];
    const calls = ['a', 'b', 'c', 'd'].map((n) => gatedCall(log, n));
    const results = calls.map((c) => admission.run(1, c.call));
    await tick();
    expect(log).toEqual(['a', 'b']);
    expect(admission.load()).toEqual({ running: 2, waiting: 2 });
    calls[1]?.release();
    await tick();
    expect(log).toEqual(['a', 'b', 'c']);
    calls[0]?.release();
    calls[2]?.release();
    calls[3]?.release();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect(admission.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('admits a waiting later step of a purchase (checkout) before earlier-queued browsing and carts', async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 10, maxWaitMs: 10_000 });
    const log: string[] = [];
    const first = gatedCall(log, 'first');
    const running = admission.run(2, first.call);
    const waiting = (
      [
        ['browse', 2],
        ['cart', 1],
        ['checkout', 0],
      ] as const
    ).map(([name, p]) => admission.run(p, job(() => void log.push(name))));
    await tick();
    first.release();
    await Promise.all([running, ...waiting]);
    expect(log).toEqual(['first', 'checkout', 'cart', 'browse']);
  });

  it('refuses BUSY at once when the queue is full, and a call that fails gives its slot back', async () => {
    const seen: AdmissionOutcome[] = [];
    const admission = new Admission({ maxRunning: 1, maxQueued: 1, maxWaitMs: 10_000 }, (o) => seen.push(o));
    const log: string[] = [];
    const first = gatedCall(log, 'first');
    const running = admission.run(1, async () => {
      await first.call();
      throw new Error('the call itself failed');
    });
    const queued = admission.run(1, job(() => 'queued'));
    let ran = false;
    const refused = await admission
      .run(
        1,
        job(() => {
          ran = true;
        }),
      )
      .catch((e: unknown) => e);
    expect(busy(refused)).toBe(true);
    expect(ran).toBe(false);
    first.release();
    await expect(running).rejects.toThrow('the call itself failed');
    expect(await queued).toBe('queued');
    expect(seen).toEqual(['ran', 'refused', 'waited']);
    expect(admission.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('with the queue full, a checkout call takes the place of the newest waiting cart call', async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 2, maxWaitMs: 10_000 });
    const log: string[] = [];
    const first = gatedCall(log, 'first');
    const running = admission.run(1, first.call);
    const older = admission.run(1, job(() => void log.push('older cart')));
    const newer = admission.run(1, job(() => void log.push('newer cart'))).catch((e: unknown) => e);
    const checkout = admission.run(0, job(() => void log.push('checkout')));
    // Two waiting, none finished yet (counted as one a second): come back in 2 s.
    expect(busy(await newer, 2)).toBe(true);
    // Nothing of a later step is left to give way: another cart call is refused itself.
    expect(busy(await admission.run(1, job(() => void log.push('late cart'))).catch((e: unknown) => e), 2)).toBe(true);
    first.release();
    await Promise.all([running, older, checkout]);
    expect(log).toEqual(['first', 'checkout', 'older cart']);
  });

  it('gives a refused call a Retry-After of the waiting calls over the calls finished per second, 30 s at most', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      /** The Retry-After a call is refused with once `queued` calls wait behind one that runs. */
      const refusedAfter = async (admission: Admission, queued: number) => {
        const held = gatedCall([], 'held');
        const running = admission.run(1, held.call);
        const waiting = Array.from({ length: queued }, (_, i) => admission.run(1, job(() => i)));
        const refused = await admission.run(1, job(() => 'refused')).catch((e: unknown) => e);
        held.release();
        await Promise.all([running, ...waiting]);
        return isDomainError(refused) && refused.code === 'BUSY' ? refused.details?.retryAfterSeconds : refused;
      };
      const finish = async (admission: Admission, calls: number) => {
        for (let i = 0; i < calls; i++) await admission.run(1, job(() => i));
      };
      const second = Date.parse('2026-01-01T00:00:00.000Z');

      // 4 calls finished this second, 8 wait: 2 s.
      vi.setSystemTime(second);
      const admission = new Admission({ maxRunning: 1, maxQueued: 8, maxWaitMs: 60_000 });
      await finish(admission, 4);
      expect(await refusedAfter(admission, 8)).toBe(2);

      // The rate is the larger of the last whole second and this one: 6 then 1, 12 waiting: 2 s.
      vi.setSystemTime(second + 10_000);
      const steady = new Admission({ maxRunning: 1, maxQueued: 12, maxWaitMs: 60_000 });
      await finish(steady, 6);
      vi.setSystemTime(second + 11_000);
      await finish(steady, 1);
      expect(await refusedAfter(steady, 12)).toBe(2);

      // Nothing finished yet counts as one a second; the delay is capped at 30 s.
      vi.setSystemTime(second + 20_000);
      expect(await refusedAfter(new Admission({ maxRunning: 1, maxQueued: 29, maxWaitMs: 60_000 }), 29)).toBe(29);
      expect(await refusedAfter(new Admission({ maxRunning: 1, maxQueued: 40, maxWaitMs: 60_000 }), 40)).toBe(30);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses BUSY a call that waited maxWaitMs, and drops one whose client went away', async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 10, maxWaitMs: 50 });
    const log: string[] = [];
    const first = gatedCall(log, 'first');
    const running = admission.run(0, first.call);
    const leaving = new AbortController();
    const abandoned = admission.run(0, job(() => void log.push('abandoned')), leaving.signal).catch((e: unknown) => e);
    const timedOut = admission.run(0, job(() => void log.push('timed out'))).catch((e: unknown) => e);
    leaving.abort();
    expect(busy(await abandoned)).toBe(true);
    expect(busy(await timedOut)).toBe(true);
    expect(admission.load()).toEqual({ running: 1, waiting: 0 });
    first.release();
    await running;
    expect(log).toEqual(['first']);
    // The slot is free again.
    expect(await admission.run(0, job(() => 'next'))).toBe('next');
  });

  it("gives a call's slot back while it waits on another service; the call takes the next free slot before waiting calls", async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 10, maxWaitMs: 10_000 });
    const log: string[] = [];
    const stripe = gatedCall(log, 'asks Stripe');
    const checkout = admission.run(1, async () => {
      const answer = await outsideAdmission(stripe.call);
      log.push(`checkout answered (${answer})`);
      return 'checkout';
    });
    const browse = gatedCall(log, 'browse');
    const browsing = admission.run(3, browse.call);
    await tick();
    // The checkout waits on Stripe without its slot: the browse call runs meanwhile.
    expect(log).toEqual(['asks Stripe', 'browse']);
    expect(admission.load()).toEqual({ running: 1, waiting: 0 });
    const cart = admission.run(2, job(() => void log.push('cart')));
    stripe.release();
    await tick();
    // Stripe answered; the checkout waits for the slot, first in line.
    expect(admission.load()).toEqual({ running: 1, waiting: 2 });
    browse.release();
    expect(await Promise.all([checkout, browsing, cart])).toEqual(['checkout', 'browse', undefined]);
    expect(log).toEqual(['asks Stripe', 'browse', 'checkout answered (asks Stripe)', 'cart']);
    expect(admission.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('lets calls back from waits outside take slots in the order they came back', async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 10, maxWaitMs: 10_000 });
    const log: string[] = [];
    const waits = ['a', 'b'].map((n) => gatedCall(log, `${n} asks Stripe`));
    const checkouts = waits.map((w, i) =>
      admission.run(1, async () => {
        await outsideAdmission(w.call);
        log.push(`${i === 0 ? 'a' : 'b'} answered`);
      }),
    );
    await tick();
    const browse = gatedCall(log, 'browse');
    const browsing = admission.run(3, browse.call);
    await tick();
    waits[0]?.release();
    await tick();
    waits[1]?.release();
    await tick();
    browse.release();
    await Promise.all([...checkouts, browsing]);
    expect(log).toEqual(['a asks Stripe', 'b asks Stripe', 'browse', 'a answered', 'b answered']);
  });

  it('never refuses a call taking its slot back, past maxWaitMs and with the queue full; outside any call the wait just runs', async () => {
    const admission = new Admission({ maxRunning: 1, maxQueued: 0, maxWaitMs: 20 });
    const log: string[] = [];
    const stripe = gatedCall(log, 'asks Stripe');
    const checkout = admission.run(1, async () => {
      await outsideAdmission(stripe.call);
      return 'checkout';
    });
    await tick();
    const browse = gatedCall(log, 'browse');
    const browsing = admission.run(3, browse.call);
    stripe.release();
    await new Promise((r) => setTimeout(r, 60));
    expect(admission.load()).toEqual({ running: 1, waiting: 1 });
    // Anything new is refused meanwhile: the queue is full.
    expect(busy(await admission.run(3, job(() => 'new')).catch((e: unknown) => e))).toBe(true);
    browse.release();
    expect(await checkout).toBe('checkout');
    await browsing;
    expect(admission.load()).toEqual({ running: 0, waiting: 0 });
    expect(await outsideAdmission(job(() => 'not admitted'))).toBe('not admitted');

    // A wait the call did not await takes no slot back once the call is answered.
    const stray = gatedCall([], 'stray');
    let strayWait: Promise<unknown> = Promise.resolve();
    expect(await admission.run(1, job(() => void (strayWait = outsideAdmission(stray.call))))).toBeUndefined();
    stray.release();
    await strayWait;
    expect(admission.load()).toEqual({ running: 0, waiting: 0 });

    // One that comes back while the slot is taken, and waits for it past the call's answer, gives it back at once.
    const late = gatedCall([], 'late');
    const rest = gatedCall([], 'rest of the call');
    let lateWait: Promise<unknown> = Promise.resolve();
    const answered = admission.run(1, async () => {
      lateWait = outsideAdmission(late.call);
      await rest.call();
    });
    await tick();
    const other = gatedCall([], 'other');
    const running = admission.run(3, other.call);
    await tick();
    late.release();
    await tick();
    expect(admission.load()).toEqual({ running: 1, waiting: 1 });
    rest.release();
    await answered;
    other.release();
    await Promise.all([running, lateWait]);
    expect(admission.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('sorts procedures into steps; long waits and the operator console are not admitted here', () => {
    expect(admissionPriority('orders.get')).toBe(0);
    expect(admissionPriority('orders.cancel')).toBe(0);
    expect(admissionPriority('checkout.placeOrder')).toBe(1);
    expect(admissionPriority('cart.addLine')).toBe(2);
    expect(admissionPriority('cart.create')).toBe(3);
    expect(admissionPriority('cart.createWithLines')).toBe(3);
    expect(admissionPriority('catalog.list')).toBe(3);
    expect(admissionPriority('orders.waitForChange')).toBeNull();
    expect(admissionPriority('admin.orders.list')).toBeNull();
  });
});
