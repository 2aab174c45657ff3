/**
 * `npm run invariants`: audits the database against the system's promises
 * (stock conserved and held only for live orders, no order charged twice,
 * paid orders fully recorded, legal histories, nothing stuck) and exits
 * non-zero on any violation. See src/server/audit/invariants.ts.
 *
 *   npm run invariants [-- --order <id>]... [--sku <sku>]... [--json] [--stripe | --no-stripe]
 *
 * Exit codes: 0 no violations, 1 violations (or invalid configuration),
 * 2 bad arguments or the audit could not run (database or Stripe unreachable).
 */
import { connectMongo, disconnectMongo } from '../prisma-free-models';
import { auditInvariants, formatReport, type AuditReport } from '../src/server/audit/invariants';
import { loadConfigOrExit } from '../src/server/config';
import { createStripeClient } from '../src/server/payments/stripe-client';

const USAGE = `usage: npm run invariants -- [--order <orderId>]... [--sku <sku>]... [--json] [--stripe | --no-stripe]
  --order, --sku  audit only these orders / products (repeatable); without either, everything
  --json          print the report as JSON instead of text
  --stripe        also ask the configured Stripe endpoint (default only with a real Stripe, i.e. STRIPE_API_HOST unset)
  --no-stripe     never ask Stripe
exit codes: 0 no violations, 1 violations, 2 bad arguments or the audit could not run`;

interface Args {
  orderIds: string[];
  skus: string[];
  json: boolean;
  stripe: boolean | undefined;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { orderIds: [], skus: [], json: false, stripe: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '' || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--order') args.orderIds.push(value());
    else if (flag === '--sku') args.skus.push(value());
    else if (flag === '--json') args.json = true;
    else if (flag === '--stripe') args.stripe = true;
    else if (flag === '--no-stripe') args.stripe = false;
    else if (flag === '--help' || flag === '-h') args.help = true;
    else throw new UsageError(`unknown argument ${arg}`);
  }
  return args;
}

function exit(code: number, text: string, stream: NodeJS.WriteStream = process.stdout): void {
  stream.write(`${text}\n`, () => process.exit(code));
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) return exit(2, `${err.message}\n${USAGE}`, process.stderr);
    throw err;
  }
  if (args.help) return exit(0, USAGE);

  // Without any Stripe key (a development database audited by hand), audit
  // the database alone rather than refuse to start.
  const noStripeKey = !process.env.STRIPE_SECRET_KEY;
  if (noStripeKey) {
    if (args.stripe) {
      console.error('--stripe needs STRIPE_SECRET_KEY (and STRIPE_API_* for a local stand-in)');
      process.exit(2);
    }
    process.env.STRIPE_SECRET_KEY = 'sk_test_audit_without_stripe';
    process.env.STRIPE_WEBHOOK_SECRET ??= 'whsec_audit_without_stripe';
  }
  const config = loadConfigOrExit();
  const useStripe = !noStripeKey && (args.stripe ?? !config.STRIPE_API_HOST);
  const scoped = args.orderIds.length > 0 || args.skus.length > 0;

  let report: AuditReport;
  try {
    await connectMongo(config.MONGODB_URI);
    report = await auditInvariants({
      stuckAfterMs: config.STUCK_AFTER_MS,
      ...(useStripe ? { stripe: createStripeClient(config) } : {}),
      ...(scoped ? { orderIds: args.orderIds, skus: args.skus } : {}),
    });
  } catch (err) {
    return exit(2, `invariants: the audit could not run: ${(err as Error).message}`, process.stderr);
  } finally {
    await disconnectMongo().catch(() => undefined);
  }

  const failed = report.violations.length > 0;
  const text = args.json
    ? JSON.stringify({ ok: !failed, stripeChecked: useStripe, stuckAfterMs: config.STUCK_AFTER_MS, ...report }, null, 2)
    : formatReport(report);
  exit(failed ? 1 : 0, text);
}

main().catch((err: unknown) => exit(2, `invariants: ${(err as Error).message}`, process.stderr));
