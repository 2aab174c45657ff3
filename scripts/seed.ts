/**
 * Seeds a small catalogue with stock. Safe to run again: existing products keep
 * their stock counters (only name and price are refreshed), so a restart never
 * resets what was sold.
 */
import { connectMongo, disconnectMongo, ensureIndexes, Product } from '../prisma-free-models';
import { loadConfigOrExit } from '../src/server/config';
import { logger } from '../src/server/logger';

const catalogue = [
  { sku: 'SNEAKER-LTD-42', name: 'Limited sneaker, size 42', priceMinor: 1_299_900, stock: 25 },
  { sku: 'TSHIRT-BLK-M', name: 'Black T-shirt, M', priceMinor: 79_900, stock: 200 },
  { sku: 'MUG-CERAMIC', name: 'Ceramic mug', priceMinor: 34_900, stock: 100 },
  { sku: 'HEADPHONES-NC', name: 'Noise-cancelling headphones', priceMinor: 1_499_000, stock: 10 },
];

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  await connectMongo(config.MONGODB_URI);
  await ensureIndexes();
  for (const item of catalogue) {
    await Product.updateOne(
      { _id: item.sku },
      {
        $set: { name: item.name, priceMinor: item.priceMinor, currency: config.CURRENCY, active: true },
        $setOnInsert: { initialStock: item.stock, available: item.stock, reserved: 0, sold: 0, holds: [] },
      },
      { upsert: true },
    );
  }
  logger.info({ products: catalogue.length }, 'catalogue seeded');
  await disconnectMongo();
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'seed failed');
  process.exit(1);
});
