/**
 * Identifier generation. Ids carry a `_sim_` infix so an id that leaks from a
 * test database into a real Stripe call (or a log) is recognisable at a glance.
 */
import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters from [A-Za-z0-9]; crypto-random so ids never collide across runs. */
export function randomAlnum(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export const newId = {
  paymentIntent: () => `pi_sim_${randomAlnum(24)}`,
  charge: () => `ch_sim_${randomAlnum(24)}`,
  refund: () => `re_sim_${randomAlnum(24)}`,
  dispute: () => `dp_sim_${randomAlnum(24)}`,
  source: () => `src_sim_${randomAlnum(24)}`,
  sourceClientSecret: () => `src_client_secret_${randomAlnum(24)}`,
  scheduledChange: () => `sch_sim_${randomAlnum(14)}`,
  event: () => `evt_sim_${randomAlnum(24)}`,
  request: () => `req_sim_${randomAlnum(14)}`,
  delivery: () => `dlv_sim_${randomAlnum(14)}`,
  clientSecret: (intentId: string) => `${intentId}_secret_${randomAlnum(25)}`,
};

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
