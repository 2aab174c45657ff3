/**
 * Stripe's v1 request encoding: application/x-www-form-urlencoded with bracket
 * notation for nesting (`metadata[orderId]=x`, `shipping[address][line1]=y`,
 * `expand[0]=latest_charge`, `expand[]=latest_charge`).
 *
 * The parser keeps every level as an object (array indexes become the keys
 * "0", "1", …): whether a field is a list or a map is the endpoint's business,
 * and metadata keys that happen to be numeric must stay a map.
 */
import { createHash } from 'node:crypto';

export type FormValue = string | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export class FormParseError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
    this.name = 'FormParseError';
  }
}

// Keys that would reach Object.prototype if they were ever copied into a normal object.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const KEY_SHAPE = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

export function emptyForm(): FormObject {
  return Object.create(null) as FormObject;
}

function decode(component: string, param: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    throw new FormParseError(`Invalid URL encoding in parameter ${param}`, param);
  }
}

function splitKey(key: string): string[] {
  const match = KEY_SHAPE.exec(key);
  if (!match || match[1] === undefined) {
    throw new FormParseError(`Invalid parameter name: ${key}`, key);
  }
  const segments = [match[1]];
  const brackets = match[2] ?? '';
  for (const part of brackets.matchAll(/\[([^[\]]*)\]/g)) segments.push(part[1] ?? '');
  return segments;
}

/** Parses a form body or query string (without the leading `?`). */
export function parseForm(input: string): FormObject {
  const root = emptyForm();
  for (const pair of input.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const key = decode(rawKey, rawKey);
    const value = decode(eq === -1 ? '' : pair.slice(eq + 1), key);
    assign(root, splitKey(key), value, key);
  }
  return root;
}

function assign(root: FormObject, path: string[], value: string, fullKey: string): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    let segment = path[i] ?? '';
    const last = i === path.length - 1;
    if (segment === '') {
      // `list[]=a&list[]=b`: append. Only supported as the final segment, which
      // is all Stripe's own clients ever send.
      if (!last) throw new FormParseError(`Invalid parameter name: ${fullKey}`, fullKey);
      segment = String(Object.keys(node).length);
    }
    if (FORBIDDEN_KEYS.has(segment)) {
      throw new FormParseError(`Invalid parameter name: ${fullKey}`, fullKey);
    }
    const existing = node[segment];
    if (last) {
      if (typeof existing === 'object') {
        throw new FormParseError(
          `Invalid ${fullKey}: it was sent both as a value and as a hash`,
          fullKey,
        );
      }
      node[segment] = value; // repeated scalar keys: the last one wins, as in Rack
      return;
    }
    if (existing === undefined) {
      const child = emptyForm();
      node[segment] = child;
      node = child;
    } else if (typeof existing === 'string') {
      throw new FormParseError(
        `Invalid ${fullKey}: it was sent both as a value and as a hash`,
        fullKey,
      );
    } else {
      node = existing;
    }
  }
}

/** JSON with object keys sorted at every level, so equal parameters give equal text. */
export function canonicalJson(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] ?? '')}`).join(',')}}`;
}

/** What an idempotency key is bound to: the endpoint and the exact parameters. */
export function requestFingerprint(method: string, path: string, params: FormObject): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(params)}`)
    .digest('hex');
}

/** `shipping[address][line1]` style name for a nested parameter. */
export function paramName(path: readonly string[]): string {
  const [head, ...rest] = path;
  return `${head ?? ''}${rest.map((p) => `[${p}]`).join('')}`;
}
