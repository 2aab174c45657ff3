/**
 * Stock as an operator sees and changes it.
 *
 * The figures are the product document's own counters and holds, the very
 * fields the invariant auditor reads, and each SKU's verdict is the auditor's
 * (auditInvariants over the page's SKUs), so the console and
 * `npm run invariants` can never disagree about a product.
 *
 * Changes keep the stock equation true in one atomic update each: adding
 * stock raises initialStock and available together; a new product starts
 * with available = initialStock. Both are idempotent (a restock by its
 * request key, a product by its SKU).
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { Product, type ProductDoc } from '../../../prisma-free-models/product';
import { auditInvariants, type Violation } from '../audit/invariants';
import { DomainError, isDuplicateKeyError } from '../errors';
import { logger } from '../logger';
import type { OrderState } from '../orders/states';
import { withAllStripes } from '../inventory/stripes';

export const MAX_STOCK_PAGE = 100;
/** How many restocks a product remembers (idempotency window and audit trail). */
const RESTOCKS_KEPT = 100;

export interface StockHold {
  orderId: string;
  /** The holding order's state, or null if it does not exist (the auditor flags that). */
  orderState: OrderState | null;
  ref: string;
  qty: number;
  at: string;
}

export interface StockRow {
  sku: string;
  name: string;
  priceMinor: number;
  currency: string;
  active: boolean;
  initialStock: number;
  available: number;
  reserved: number;
  sold: number;
  holds: StockHold[];
  /** Sales not yet copied onto their orders. */
  pendingSales: { orderId: string; qty: number }[];
  restocks: { qty: number; at: string }[];
  /** The invariant auditor's findings for this SKU; empty means it audits clean. */
  violations: { check: string; message: string }[];
}

export interface StockPage {
  products: StockRow[];
  next: string | null;
}

type StoredProduct = ProductDoc & { _id: string };

export async function listStock(opts: { after?: string; sku?: string; limit?: number; stuckAfterMs: number }): Promise<StockPage> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), MAX_STOCK_PAGE);
  const filter = opts.sku ? { _id: opts.sku } : opts.after ? { _id: { $gt: opts.after } } : {};
  // Each product with the stock of all its stripes (inventory/stripes.ts).
  const found = await withAllStripes(await Product.find(filter).sort({ _id: 1 }).limit(limit + 1).lean<StoredProduct[]>());
  const page = found.slice(0, limit);
  const skus = page.map((p) => p._id);

  const holderIds = [...new Set(page.flatMap((p) => p.holds.map((h) => h.orderId)))];
  const [holders, report] = await Promise.all([
    holderIds.length ? Order.find({ _id: { $in: holderIds } }, { state: 1 }).lean<Pick<OrderDoc, '_id' | 'state'>[]>() : [],
    skus.length ? auditInvariants({ skus, stuckAfterMs: opts.stuckAfterMs }) : { violations: [] as Violation[] },
  ]);
  const stateOf = new Map(holders.map((o) => [o._id, o.state]));
  const violationsOf = new Map<string, Violation[]>();
  for (const v of report.violations) {
    const sku = v.subject.startsWith('sku:') ? v.subject.slice(4) : null;
    if (sku) violationsOf.set(sku, [...(violationsOf.get(sku) ?? []), v]);
  }

  return {
    products: page.map((p) => ({
      sku: p._id,
      name: p.name,
      priceMinor: p.priceMinor,
      currency: p.currency,
      active: p.active ?? true,
      initialStock: p.initialStock,
      available: p.available,
      reserved: p.reserved,
      sold: p.sold,
      holds: p.holds.map((h) => ({ orderId: h.orderId, orderState: stateOf.get(h.orderId) ?? null, ref: h.ref, qty: h.qty, at: h.at.toISOString() })),
      pendingSales: (p.sales ?? []).map((s) => ({ orderId: s.orderId, qty: s.qty })),
      restocks: (p.restocks ?? []).map((r) => ({ qty: r.qty, at: r.at.toISOString() })),
      violations: (violationsOf.get(p._id) ?? []).map((v) => ({ check: v.check, message: v.message })),
    })),
    next: found.length > limit ? (page[page.length - 1]?._id ?? null) : null,
  };
}

export interface RestockResult {
  outcome: 'applied' | 'replayed';
  sku: string;
  initialStock: number;
  available: number;
}

/** Adds `qty` units to a SKU, once per `requestKey`. */
export async function addStock(sku: string, qty: number, requestKey: string): Promise<RestockResult> {
  const at = new Date();
  const updated = await Product.findOneAndUpdate(
    { _id: sku, 'restocks.key': { $ne: requestKey } },
    {
      // Both counters in the same update: initialStock = available + reserved + sold holds before and after.
      // New units arrive on the product's own document (stripe 0 of a striped product's stock).
      $inc: { initialStock: qty, available: qty, v: 1 },
      $push: { restocks: { $each: [{ key: requestKey, qty, at }], $slice: -RESTOCKS_KEPT } },
    },
    { returnDocument: 'after' },
  ).lean<StoredProduct>();
  if (updated) {
    logger.info({ sku, qty, action: 'add-stock', outcome: 'applied', initialStock: updated.initialStock }, 'stock added by an operator');
    return { outcome: 'applied', sku, initialStock: updated.initialStock, available: await availableOf(updated) };
  }
  const current = await Product.findById(sku, { restocks: 1, initialStock: 1, available: 1, stripes: 1, xfer: 1 }).lean<StoredProduct>();
  if (!current) throw new DomainError('NOT_FOUND', `No product ${sku}`, { field: 'sku' });
  const earlier = current.restocks?.find((r) => r.key === requestKey);
  if (earlier && earlier.qty !== qty) {
    throw new DomainError('IDEMPOTENCY_CONFLICT', `This request key already added ${earlier.qty} units, not ${qty}`, { field: 'requestKey' });
  }
  logger.info({ sku, qty, action: 'add-stock', outcome: 'replayed' }, 'stock addition repeated');
  return { outcome: 'replayed', sku, initialStock: current.initialStock, available: await availableOf(current) };
}

/** What the product has free to hold, over all its stripes. */
async function availableOf(product: StoredProduct): Promise<number> {
  const [whole] = await withAllStripes([product]);
  return whole?.available ?? product.available;
}

export interface NewProduct {
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  initialStock: number;
  /** How many documents carry its stock (inventory/stripes.ts); default 1. */
  stripes?: number;
}

export interface CreateProductResult {
  outcome: 'created' | 'replayed';
  sku: string;
}

/**
 * Creates a product, once per SKU: the SKU is the document's _id, so two
 * concurrent creations make one product. Repeating the same request answers
 * `replayed`; the same SKU with another name, description or price is a
 * conflict (the stock figure of a replay is not compared: it may have moved since).
 */
export async function createProduct(input: NewProduct, currency: string): Promise<CreateProductResult> {
  try {
    await Product.create({
      _id: input.sku,
      name: input.name,
      description: input.description,
      priceMinor: input.priceMinor,
      currency,
      initialStock: input.initialStock,
      available: input.initialStock,
      reserved: 0,
      sold: 0,
      holds: [],
      sales: [],
      active: true,
      ...((input.stripes ?? 1) > 1 ? { stripes: input.stripes } : {}),
    });
    logger.info({ sku: input.sku, action: 'create-product', outcome: 'created', initialStock: input.initialStock }, 'product created by an operator');
    return { outcome: 'created', sku: input.sku };
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  const existing = await Product.findById(input.sku, { name: 1, description: 1, priceMinor: 1, currency: 1 }).lean<StoredProduct>();
  const same = existing && existing.name === input.name && existing.description === input.description && existing.priceMinor === input.priceMinor && existing.currency === currency;
  if (!same) {
    throw new DomainError('IDEMPOTENCY_CONFLICT', `SKU ${input.sku} already exists with another name, description or price`, { field: 'sku' });
  }
  return { outcome: 'replayed', sku: input.sku };
}
