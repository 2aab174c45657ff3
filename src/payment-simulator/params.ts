/**
 * Parameter readers for form-decoded requests. Each failure is a Stripe-shaped
 * 400 naming the offending parameter in Stripe's bracket notation, because the
 * app's error handling (and its tests) key off `param` and `code`.
 *
 * Unknown parameters are refused like Stripe does (`parameter_unknown`): a
 * misspelt field sent by the app should fail here, not silently do nothing.
 */
import { missingParam, paramError, unknownParam } from './errors';
import { paramName, type FormObject, type FormValue } from './form';
import type { Address, Metadata, Shipping } from './types';

type Path = readonly string[];

export function checkKnown(obj: FormObject, allowed: ReadonlySet<string>, path: Path = []): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) throw unknownParam(paramName([...path, key]));
  }
}

function describe(value: FormValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function emptyNotAllowed(name: string) {
  return paramError(
    name,
    `You passed an empty string for '${name}'. We assume empty values are an attempt to unset a parameter; however '${name}' cannot be unset. You should remove '${name}' from your request or supply a non-empty value.`,
    'parameter_invalid_empty',
  );
}

export function optString(obj: FormObject, key: string, path: Path = [], maxLength = 5000): string | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  const name = paramName([...path, key]);
  if (typeof value !== 'string') throw paramError(name, `Invalid string: ${describe(value)}`);
  if (value.length > maxLength) {
    throw paramError(name, `Invalid string: must be at most ${maxLength} characters`);
  }
  return value;
}

/** Empty string means "unset" in Stripe's encoding; here it reads as absent. */
export function optNonEmptyString(obj: FormObject, key: string, path: Path = [], maxLength?: number): string | undefined {
  const value = optString(obj, key, path, maxLength);
  return value === '' ? undefined : value;
}

export function reqString(obj: FormObject, key: string, path: Path = []): string {
  const name = paramName([...path, key]);
  const value = optString(obj, key, path);
  if (value === undefined) throw missingParam(name);
  if (value === '') throw emptyNotAllowed(name);
  return value;
}

export function optInt(
  obj: FormObject,
  key: string,
  limits: { min: number; max?: number },
  path: Path = [],
): number | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  const name = paramName([...path, key]);
  if (value === '') throw emptyNotAllowed(name);
  if (typeof value !== 'string' || !/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw paramError(name, `Invalid integer: ${describe(value)}`, 'parameter_invalid_integer');
  }
  const n = Number(value);
  if (n < limits.min) {
    throw paramError(name, `This value must be greater than or equal to ${limits.min}.`, 'parameter_invalid_integer');
  }
  if (limits.max !== undefined && n > limits.max) {
    throw paramError(name, `This value must be less than or equal to ${limits.max}.`, 'parameter_invalid_integer');
  }
  return n;
}

export function reqInt(obj: FormObject, key: string, limits: { min: number; max?: number }): number {
  const n = optInt(obj, key, limits);
  if (n === undefined) throw missingParam(key);
  return n;
}

export function optBool(obj: FormObject, key: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw paramError(key, `Invalid boolean: ${describe(value)}`);
}

export function optEnum<T extends string>(
  obj: FormObject,
  key: string,
  allowed: readonly T[],
  path: Path = [],
): T | undefined {
  const value = optNonEmptyString(obj, key, path);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    const name = paramName([...path, key]);
    throw paramError(name, `Invalid ${name}: must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Lists arrive as `k[0]=a&k[1]=b` (or `k[]=a`), i.e. an object keyed by index. */
export function optStringList(obj: FormObject, key: string): string[] | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (value === '') return [];
  if (typeof value === 'string') throw paramError(key, `Invalid array`);
  const entries = Object.entries(value);
  if (!entries.every(([k]) => /^\d+$/.test(k))) throw paramError(key, `Invalid array`);
  return entries
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([k, v]) => {
      if (typeof v !== 'string') throw paramError(paramName([key, k]), `Invalid string: ${describe(v)}`);
      return v;
    });
}

export function readExpand(obj: FormObject, allowed: ReadonlySet<string>): Set<string> {
  const list = optStringList(obj, 'expand') ?? [];
  for (const field of list) {
    if (!allowed.has(field)) {
      throw paramError('expand', `This property cannot be expanded (${field}).`);
    }
  }
  return new Set(list);
}

/**
 * Stripe's limits: 50 keys, keys up to 40 characters, values up to 500.
 * `metadata=` (empty) means "no metadata"; a key sent with an empty value is
 * an unset, so it is left out.
 */
export function optMetadata(obj: FormObject, key = 'metadata'): Metadata | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (value === '') return {};
  if (typeof value === 'string') throw paramError(key, `Invalid object`);
  const out: Metadata = {};
  for (const [k, v] of Object.entries(value)) {
    const name = paramName([key, k]);
    if (typeof v !== 'string') throw paramError(name, `Invalid string: ${describe(v)}`);
    if (k.length > 40) throw paramError(name, `Metadata keys can be at most 40 characters long.`);
    if (v.length > 500) throw paramError(name, `Metadata values can be at most 500 characters long.`);
    if (v !== '') out[k] = v;
  }
  if (Object.keys(out).length > 50) throw paramError(key, `You can specify up to 50 keys in metadata.`);
  return out;
}

const SHIPPING_KEYS = new Set(['name', 'phone', 'address', 'carrier', 'tracking_number']);
const ADDRESS_KEYS = new Set(['line1', 'line2', 'city', 'state', 'postal_code', 'country']);

export function optShipping(obj: FormObject): Shipping | null | undefined {
  const value = obj.shipping;
  if (value === undefined) return undefined;
  if (value === '') return null; // `shipping=` unsets
  if (typeof value === 'string') throw paramError('shipping', 'Invalid object');
  checkKnown(value, SHIPPING_KEYS, ['shipping']);
  const name = reqString(value, 'name', ['shipping']);
  const rawAddress = value.address;
  if (rawAddress === undefined) throw missingParam('shipping[address]');
  if (typeof rawAddress === 'string') throw paramError('shipping[address]', 'Invalid object');
  checkKnown(rawAddress, ADDRESS_KEYS, ['shipping', 'address']);
  const at = ['shipping', 'address'];
  const address: Address = {
    city: optNonEmptyString(rawAddress, 'city', at) ?? null,
    country: optNonEmptyString(rawAddress, 'country', at) ?? null,
    line1: optNonEmptyString(rawAddress, 'line1', at) ?? null,
    line2: optNonEmptyString(rawAddress, 'line2', at) ?? null,
    postal_code: optNonEmptyString(rawAddress, 'postal_code', at) ?? null,
    state: optNonEmptyString(rawAddress, 'state', at) ?? null,
  };
  return {
    address,
    carrier: optNonEmptyString(value, 'carrier', ['shipping']) ?? null,
    name,
    phone: optNonEmptyString(value, 'phone', ['shipping']) ?? null,
    tracking_number: optNonEmptyString(value, 'tracking_number', ['shipping']) ?? null,
  };
}

export function optCurrency(obj: FormObject): string | undefined {
  const value = optString(obj, 'currency');
  if (value === undefined) return undefined;
  if (value === '') throw emptyNotAllowed('currency');
  if (!/^[A-Za-z]{3}$/.test(value)) {
    throw paramError('currency', `Invalid currency: ${value}. Currencies are three-letter ISO codes such as usd or inr.`);
  }
  return value.toLowerCase();
}

export function optEmail(obj: FormObject, key: string, path: Path = []): string | null | undefined {
  const value = optString(obj, key, path, 800);
  if (value === undefined) return undefined;
  if (value === '') return null;
  if (!/^[^\s@]+@[^\s@]+$/.test(value)) {
    throw paramError(paramName([...path, key]), `Invalid email address: ${value}`, 'email_invalid');
  }
  return value;
}
