/**
 * The operator console's wiring in the web app, built once per process on
 * top of the shared runtime: the password, the sign-in throttle, the session
 * settings. `null` when the console is switched off (ADMIN_CONSOLE=off).
 */
import { getConfig } from '../config';
import { logger } from '../logger';
import { getRuntime, type Runtime } from '../runtime';
import { loadOperatorCredential, type OperatorCredential } from './credentials';
import { createLoginThrottle, type LoginThrottle } from './login-throttle';

export interface OperatorConsole {
  runtime: Runtime;
  credential: OperatorCredential;
  throttle: LoginThrottle;
  sessionTtlMs: number;
  /** Cookies are Secure in production (served over HTTPS); development runs on plain http://localhost. */
  secureCookies: boolean;
}

let shared: Promise<OperatorConsole> | undefined;

async function build(): Promise<OperatorConsole> {
  const runtime = await getRuntime();
  const { config } = runtime;
  const credential = await loadOperatorCredential(config);
  return {
    runtime,
    credential,
    throttle: createLoginThrottle(runtime.redis, config.QUEUE_PREFIX),
    sessionTtlMs: config.ADMIN_SESSION_TTL_MS,
    secureCookies: config.APP_ENV === 'production',
  };
}

export function consoleEnabled(): boolean {
  return getConfig().ADMIN_CONSOLE === 'on';
}

export async function getOperatorConsole(): Promise<OperatorConsole | null> {
  if (!consoleEnabled()) return null;
  if (!shared) {
    shared = build();
    shared.catch((err: unknown) => {
      logger.error({ err }, 'operator console start failed');
      shared = undefined;
    });
  }
  return shared;
}

/**
 * At web app start: make sure the console has a password, and in development
 * say where the generated one is, so nobody has to guess.
 */
export async function announceOperatorConsole(): Promise<void> {
  const config = getConfig();
  if (config.ADMIN_CONSOLE === 'off') return;
  const credential = await loadOperatorCredential(config);
  if (credential.source === 'generated') {
    process.stdout.write(
      `Operator console: http://localhost:${config.PORT}/admin — development password ${credential.generated ?? ''} (kept in ${credential.file ?? ''}; set ADMIN_PASSWORD or ADMIN_PASSWORD_HASH to choose one)\n`,
    );
  }
}
