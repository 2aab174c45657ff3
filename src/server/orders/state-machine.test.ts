import { describe, expect, it } from 'vitest';
import { ORDER_STATES, TERMINAL_STATES, type OrderState } from './states';
import { canTransition, isLegalHistory, reachableFrom, TRANSITIONS } from './state-machine';

describe('order transition table', () => {
  it('allows exactly the documented transitions', () => {
    const pairs = TRANSITIONS.map((t) => `${t.from}->${t.to}`).sort();
    expect(pairs).toEqual(
      [
        'CREATED->INVENTORY_RESERVED',
        'INVENTORY_RESERVED->PAYMENT_PENDING',
        'PAYMENT_PENDING->PAID',
        'PAID->CONFIRMED',
        'CREATED->REJECTED',
        'CREATED->CANCELLED',
        'INVENTORY_RESERVED->CANCELLED',
        'PAYMENT_PENDING->CANCELLED',
        'INVENTORY_RESERVED->EXPIRED',
        'PAYMENT_PENDING->EXPIRED',
        'EXPIRED->PAID',
        'EXPIRED->REFUNDED',
        'CANCELLED->REFUNDED',
        'PAYMENT_PENDING->PAYMENT_MISMATCH',
        'EXPIRED->PAYMENT_MISMATCH',
        'CANCELLED->PAYMENT_MISMATCH',
        'PAYMENT_MISMATCH->REFUNDED',
      ].sort(),
    );
  });

  it('never reaches PAID without a payment, and never leaves CONFIRMED', () => {
    const intoPaid = TRANSITIONS.filter((t) => t.to === 'PAID').map((t) => t.action);
    expect(new Set(intoPaid)).toEqual(new Set(['mark-paid', 'accept-late-payment']));
    expect(TRANSITIONS.filter((t) => t.from === 'CONFIRMED')).toEqual([]);
    expect(TRANSITIONS.filter((t) => t.to === 'CONFIRMED').map((t) => t.from)).toEqual(['PAID']);
  });

  it('refuses every pair not in the table, including self-loops and going back', () => {
    for (const from of ORDER_STATES) {
      for (const to of ORDER_STATES) {
        const inTable = TRANSITIONS.some((t) => t.from === from && t.to === to);
        expect(canTransition(from, to), `${from}->${to}`).toBe(inTable);
      }
    }
    expect(canTransition('CONFIRMED', 'PAID')).toBe(false);
    expect(canTransition('PAID', 'PAID')).toBe(false);
    expect(canTransition('CREATED', 'PAID')).toBe(false);
  });

  it('has no automatic way out of a terminal state and every state reaches a terminal one', () => {
    for (const s of TERMINAL_STATES) {
      expect(TRANSITIONS.filter((t) => t.from === s && !t.byOperator), s).toEqual([]);
      // What an operator may do from a terminal state ends in a terminal state.
      for (const r of reachableFrom(s)) expect(TERMINAL_STATES.has(r), `${s} -> ${r}`).toBe(true);
    }
    expect(TRANSITIONS.filter((t) => t.byOperator).map((t) => `${t.from}->${t.to}:${t.action}`)).toEqual(['PAYMENT_MISMATCH->REFUNDED:refund-mismatch']);
    for (const s of ORDER_STATES) {
      if (TERMINAL_STATES.has(s)) continue;
      expect([...reachableFrom(s)].some((r) => TERMINAL_STATES.has(r)), s).toBe(true);
    }
  });

  it('names each action consistently: one target state per action', () => {
    const targets = new Map<string, Set<string>>();
    for (const t of TRANSITIONS) targets.set(t.action, (targets.get(t.action) ?? new Set()).add(t.to));
    for (const [action, to] of targets) expect(to.size, action).toBe(1);
  });
});

describe('history legality', () => {
  const step = (from: OrderState | null, to: OrderState) => ({ from, to });
  const happy = [
    step(null, 'CREATED'),
    step('CREATED', 'INVENTORY_RESERVED'),
    step('INVENTORY_RESERVED', 'PAYMENT_PENDING'),
    step('PAYMENT_PENDING', 'PAID'),
    step('PAID', 'CONFIRMED'),
  ];

  it('accepts the happy path ending in the current state', () => {
    expect(isLegalHistory(happy, 'CONFIRMED')).toBe(true);
    expect(isLegalHistory(happy.slice(0, 3), 'PAYMENT_PENDING')).toBe(true);
  });

  it('accepts the failure paths', () => {
    expect(isLegalHistory([...happy.slice(0, 3), step('PAYMENT_PENDING', 'EXPIRED'), step('EXPIRED', 'PAID'), step('PAID', 'CONFIRMED')], 'CONFIRMED')).toBe(true);
    expect(isLegalHistory([happy[0]!, step('CREATED', 'CANCELLED'), step('CANCELLED', 'REFUNDED')], 'REFUNDED')).toBe(true);
    expect(isLegalHistory([happy[0]!, step('CREATED', 'REJECTED'), step('REJECTED', 'PAID')], 'PAID')).toBe(false);
  });

  it('rejects a path that skips, repeats, starts elsewhere or ends elsewhere', () => {
    expect(isLegalHistory(happy, 'PAID')).toBe(false);
    expect(isLegalHistory([happy[0]!, step('CREATED', 'PAID')], 'PAID')).toBe(false);
    expect(isLegalHistory([...happy.slice(0, 2), happy[1]!], 'INVENTORY_RESERVED')).toBe(false);
    expect(isLegalHistory(happy.slice(1), 'CONFIRMED')).toBe(false);
    expect(isLegalHistory([], 'CREATED')).toBe(false);
  });
});
