/**
 * The simulator's switches: defaults and validation of partial updates.
 *
 * One validator serves both `configure()` and `POST /_sim/config`, so a typo
 * in a test's JSON ("dupicate": 3) fails loudly instead of silently testing
 * nothing.
 */
import type { RetryPolicy, SimulatorConfig, SimulatorConfigPatch } from './types';

export class ConfigPatchError extends Error {
  override name = 'ConfigPatchError';
}

/** Long enough that a test sees the first state, short enough that it need not wait long for the second. */
export const DEFAULT_ASYNC_DELAY_MS = 200;

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, timeoutMs: 10_000 };

export function defaultConfig(webhookUrl: string | null): SimulatorConfig {
  return {
    webhookUrl,
    duplicate: 1,
    delayMs: 0,
    dropNext: 0,
    hold: false,
    reorder: false,
    retry: { ...DEFAULT_RETRY },
    signWithSecret: null,
    signatureTimestampOffsetSec: 0,
    dropNextResponses: 0,
    extraEvents: false,
    asyncDelayMs: DEFAULT_ASYNC_DELAY_MS,
    apiLatencyMs: 0,
  };
}

type Check = (value: unknown, name: string) => void;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const int =
  (min: number, max: number): Check =>
  (value, name) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigPatchError(`${name} must be an integer from ${min} to ${max}`);
    }
  };

const bool: Check = (value, name) => {
  if (typeof value !== 'boolean') throw new ConfigPatchError(`${name} must be true or false`);
};

const webhookUrl: Check = (value, name) => {
  if (value === null) return;
  if (typeof value !== 'string' || !isHttpUrl(value)) {
    throw new ConfigPatchError(`${name} must be an http(s) URL or null`);
  }
};

const secret: Check = (value, name) => {
  if (value === null) return;
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigPatchError(`${name} must be a non-empty string or null`);
  }
};

const TOP_LEVEL: Record<Exclude<keyof SimulatorConfig, 'retry'>, Check> = {
  webhookUrl,
  duplicate: int(1, 100),
  delayMs: int(0, 600_000),
  dropNext: int(0, 1_000_000),
  hold: bool,
  reorder: bool,
  signWithSecret: secret,
  signatureTimestampOffsetSec: int(-31_536_000, 31_536_000),
  dropNextResponses: int(0, 1_000_000),
  extraEvents: bool,
  asyncDelayMs: int(0, 600_000),
  apiLatencyMs: int(0, 60_000),
};

const RETRY: Record<keyof RetryPolicy, Check> = {
  attempts: int(1, 100),
  baseDelayMs: int(0, 3_600_000),
  timeoutMs: int(1, 600_000),
};

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Checks an untrusted partial config (e.g. parsed JSON); throws ConfigPatchError naming the field. */
export function validatePatch(input: unknown): SimulatorConfigPatch {
  if (!isRecord(input)) throw new ConfigPatchError('config must be a JSON object');
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue; // an absent switch, as in a TypeScript Partial<>
    if (key === 'retry') {
      if (!isRecord(value)) throw new ConfigPatchError('retry must be an object');
      for (const [rkey, rvalue] of Object.entries(value)) {
        if (rvalue === undefined) continue;
        const check = (RETRY as Record<string, Check | undefined>)[rkey];
        if (!check) throw new ConfigPatchError(`unknown setting retry.${rkey}`);
        check(rvalue, `retry.${rkey}`);
      }
      continue;
    }
    const check = (TOP_LEVEL as Record<string, Check | undefined>)[key];
    if (!check) throw new ConfigPatchError(`unknown setting ${key}`);
    check(value, key);
  }
  return input;
}

export function applyPatch(current: SimulatorConfig, patch: SimulatorConfigPatch): SimulatorConfig {
  const { retry, ...rest } = patch;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const retryDefined = Object.fromEntries(
    Object.entries(retry ?? {}).filter(([, v]) => v !== undefined),
  );
  return { ...current, ...defined, retry: { ...current.retry, ...retryDefined } };
}

export function cloneConfig(config: SimulatorConfig): SimulatorConfig {
  return { ...config, retry: { ...config.retry } };
}
