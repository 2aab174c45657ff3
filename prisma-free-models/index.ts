export { connectMongo, disconnectMongo } from './connection';
export { Product, type ProductDoc } from './product';
export { StockStripe, stripeDocId, type StockStripeDoc } from './stock-stripe';
export { Cart, type CartDoc } from './cart';
export { Order, type OrderDoc } from './order';
export { WebhookEvent, type WebhookEventDoc } from './webhook-event';
export { CustomerSlots, type CustomerSlotsDoc } from './customer-slots';
export { AdminSession, type AdminSessionDoc } from './admin-session';
export { OpenOrder, OpenEvent, type OpenEntryDoc } from './open-work';
export { MaintenanceMark, type MaintenanceMarkDoc } from './maintenance-mark';

import { AdminSession } from './admin-session';
import { Cart } from './cart';
import { MaintenanceMark } from './maintenance-mark';
import { OpenEvent, OpenOrder } from './open-work';
import { CustomerSlots } from './customer-slots';
import { Order } from './order';
import { Product } from './product';
import { StockStripe } from './stock-stripe';
import { WebhookEvent } from './webhook-event';

/** Builds every declared index; run at start-up by the web app, the worker and the seed. */
export async function ensureIndexes(): Promise<void> {
  await Promise.all([
    Product.createIndexes(),
    StockStripe.createIndexes(),
    Cart.createIndexes(),
    Order.createIndexes(),
    WebhookEvent.createIndexes(),
    CustomerSlots.createIndexes(),
    AdminSession.createIndexes(),
    OpenOrder.createIndexes(),
    OpenEvent.createIndexes(),
    MaintenanceMark.createIndexes(),
  ]);
}
