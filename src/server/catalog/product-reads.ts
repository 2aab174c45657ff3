/**
 * Products as carts and the checkout read them (name, price, whether sold,
 * the visible stock), kept in this process for at most `maxAgeMs`.
 *
 * In a sale every buyer's cart and checkout read the same product, about
 * three reads per buyer of the one document that every hold, sale and
 * release also rewrites. Served from here, a hot product is read from the
 * database a few times a second per process instead of hundreds.
 *
 * Nothing here decides stock: a hold is taken only by the reservation's
 * conditional update of the product (inventory/stock.ts), which alone
 * guarantees no oversell and refuses a withdrawn product. What a read from
 * here may be late by, at most `maxAgeMs`, is what any read already was by
 * the time the buyer acts on it: a price or withdrawal the operator changed
 * that long ago, or stock that ran out or came back that recently (a checkout
 * that still sees stock is written and reserved, and rejected there; one that
 * sees none is rejected as if it had come a moment earlier).
 *
 * Off (0) unless the process sets it: the web app does, from
 * CATALOG_CACHE_MS; the worker and in-process callers read the database.
 */
import { Product, type ProductDoc } from '../../../prisma-free-models/product';
import { availableAtOneMoment, stripeCount } from '../inventory/stripes';

interface Entry {
  /** When the read that produced it started: its age is counted from there. */
  readAt: number;
  product: ProductDoc | null;
}

/** Forgotten all at once beyond this many SKUs, so a crawl of the catalogue cannot grow it without end. */
const MAX_ENTRIES = 10_000;

let maxAgeMs = 0;
const entries = new Map<string, Entry>();
/** Reads under way, by the SKUs they read: concurrent callers wanting the same share one. */
const inFlight = new Map<string, Promise<Map<string, ProductDoc | null>>>();

/** Sets how old a product read may be (0: every call reads the database). Products are shared: callers never change them. */
export function keepProductReadsFor(ms: number): void {
  maxAgeMs = ms;
  entries.clear();
}

async function readActive(skus: readonly string[]): Promise<ProductDoc[]> {
  const products = await Product.find({ _id: { $in: [...skus] }, active: true }, { holds: 0, sales: 0 }).lean<ProductDoc[]>();
  return Promise.all(products.map(withStripedAvailable));
}

/**
 * A product split into stripes (inventory/stripes.ts) has its units on several
 * documents: `available` becomes what all of them had free at one moment (two
 * reads that agree). When the stock moved under every pair of reads, it is
 * unknown, and counted as plenty: a checkout then goes on to the reservation,
 * which decides. A checkout is rejected early only for a shortfall one moment saw.
 */
async function withStripedAvailable(product: ProductDoc): Promise<ProductDoc> {
  if (stripeCount(product) === 1) return product;
  const available = await availableAtOneMoment(product._id);
  return { ...product, available: available ?? Number.POSITIVE_INFINITY };
}

function refresh(skus: readonly string[]): Promise<Map<string, ProductDoc | null>> {
  const key = skus.join('\u0000');
  const pending = inFlight.get(key);
  if (pending) return pending;
  const readAt = Date.now();
  const read = readActive(skus)
    .then((products) => {
      const found = new Map<string, ProductDoc | null>(skus.map((sku) => [sku, null]));
      for (const p of products) found.set(p._id, p);
      if (entries.size + skus.length > MAX_ENTRIES) entries.clear();
      for (const [sku, product] of found) entries.set(sku, { readAt, product });
      return found;
    })
    .finally(() => inFlight.delete(key));
  inFlight.set(key, read);
  return read;
}

/** Products by SKU, active ones only; the map lacks any SKU that is unknown or withdrawn. */
export async function findActiveProducts(skus: readonly string[]): Promise<Map<string, ProductDoc>> {
  const wanted = [...new Set(skus)].sort();
  if (maxAgeMs <= 0) return new Map((await readActive(wanted)).map((p) => [p._id, p]));
  const now = Date.now();
  const products = new Map<string, ProductDoc>();
  const stale: string[] = [];
  for (const sku of wanted) {
    const entry = entries.get(sku);
    if (!entry || now - entry.readAt > maxAgeMs) stale.push(sku);
    else if (entry.product) products.set(sku, entry.product);
  }
  if (stale.length > 0) {
    for (const [sku, product] of await refresh(stale)) if (product) products.set(sku, product);
  }
  return products;
}
