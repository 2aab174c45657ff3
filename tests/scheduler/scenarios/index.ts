/** Every scenario the scheduler runs, in the order `npm test` runs them. */
import {
  acceptedLateStockGone,
  cancelTwins,
  expireTwins,
  latePaymentTwins,
  latePaymentVsReconcile,
  lateRefundTwins,
  reconcileMissingIntent,
  reconcileTwins,
  settleWhilePaid,
} from './closing';
import { firstOrdersRaceForTheSlot, oneKeyTwoCarts, placeOrderPayingTwinsLastUnit, placeOrderReservingTwinsLastUnit, placeOrderTwins, placeOrderTwinsLastUnit } from './checkout';
import { finalizeTwins, finalizeVsReconcile, markPaidFinalizingVsFinalize, markPaidRerunVsFinalize, markPaidTwins, markPaidVsCancel, markPaidVsExpire, markPaidVsPaymentRecorded, placeOrderPayingVsCancel, placeOrderPayingVsExpire, placeOrderPayingVsPaymentJob, requestPaymentTwins, requestPaymentVsCancel } from './payment';
import { deliveriesVsReconcile, reconcileVsPlaceOrder, reconcileVsPlaceOrderPayingAnswerLost, reconcileVsPlaceOrderReserving, reconcileVsSettling } from './open-work';
import { strandedTransfer, stripeHoldsRace, stripeHoldVsRelease, stripeReserveTwins } from './stripes';
import { lastUnit, reserveTwins, reserveTwinsMultiLine, reserveVsCancel, reserveVsExpire, staleReserveTwin, staleReserveVsStraySweep } from './reservation';

export const SCENARIOS = [
  // Each step against a twin of itself (a stalled job run again, a retry, a double click).
  placeOrderTwins,
  placeOrderTwinsLastUnit,
  firstOrdersRaceForTheSlot,
  placeOrderReservingTwinsLastUnit,
  placeOrderPayingTwinsLastUnit,
  oneKeyTwoCarts,
  reserveTwins,
  reserveTwinsMultiLine,
  staleReserveTwin,
  requestPaymentTwins,
  markPaidTwins,
  markPaidFinalizingVsFinalize,
  markPaidRerunVsFinalize,
  finalizeTwins,
  expireTwins,
  cancelTwins,
  latePaymentTwins,
  lateRefundTwins,
  acceptedLateStockGone,
  reconcileTwins,
  // Pairs that meet in production.
  reserveVsCancel,
  staleReserveVsStraySweep,
  reserveVsExpire,
  markPaidVsCancel,
  markPaidVsExpire,
  markPaidVsPaymentRecorded,
  latePaymentVsReconcile,
  settleWhilePaid,
  finalizeVsReconcile,
  requestPaymentVsCancel,
  placeOrderPayingVsCancel,
  placeOrderPayingVsExpire,
  placeOrderPayingVsPaymentJob,
  lastUnit,
  reconcileMissingIntent,
  reconcileVsPlaceOrder,
  reconcileVsPlaceOrderReserving,
  reconcileVsPlaceOrderPayingAnswerLost,
  reconcileVsSettling,
  deliveriesVsReconcile,
  // A product's stock split into stripes: holds, transfers and their twins.
  stripeHoldsRace,
  stripeReserveTwins,
  stripeHoldVsRelease,
  strandedTransfer,
];
