/**
 * PaymentIntents: create, retrieve, confirm, cancel.
 *
 * Confirmation is card-only: a test PaymentMethod succeeds at once, is
 * declined at once, or (the 3-D Secure cards) waits in `requires_action` for
 * the customer to answer a challenge (three-d-secure.ts). There is no manual
 * capture or `processing` state — an app that needs those would get a clear
 * 400 rather than a silently different flow.
 *
 * A publishable key (the customer's browser, as Stripe.js calls) may only
 * retrieve and confirm, and only with the intent's client secret.
 */
import { chargeIntent } from './charging';
import { executionError, missingParam, noSuchObject, noSuchParamObject, paramError } from './errors';
import type { FormObject } from './form';
import { newId, nowSeconds } from './ids';
import {
  checkKnown,
  optBool,
  optCurrency,
  optEmail,
  optEnum,
  optMetadata,
  optNonEmptyString,
  optShipping,
  optString,
  optStringList,
  readExpand,
  reqInt,
} from './params';
import type { ApiResult, SimStore } from './store';
import { TEST_CARDS, type TestCard } from './test-cards';
import type { ThreeDSecureService } from './three-d-secure';
import type { PaymentIntent, PaymentIntentStatus, RequestContext } from './types';

/** Real Stripe parameters the simulator accepts but does not act on. */
const IGNORED = [
  'off_session',
  'payment_method_options',
  'payment_method_data',
  'payment_method_configuration',
  'radar_options',
  'mandate',
  'mandate_data',
  'amount_details',
  'payment_details',
  'hooks',
  'excluded_payment_method_types',
  'transfer_group',
  'transfer_data',
  'on_behalf_of',
  'application_fee_amount',
  'customer_account',
];

/** How a confirmation asks for the next action to be handled (three-d-secure.ts). */
const NEXT_ACTION_KEYS = ['return_url', 'use_stripe_sdk', 'error_on_requires_action'];

const CREATE_KEYS = new Set([
  ...IGNORED,
  ...NEXT_ACTION_KEYS,
  'amount',
  'currency',
  'description',
  'metadata',
  'shipping',
  'receipt_email',
  'payment_method',
  'confirm',
  'payment_method_types',
  'allowed_payment_method_types',
  'automatic_payment_methods',
  'capture_method',
  'confirmation_method',
  'customer',
  'setup_future_usage',
  'statement_descriptor',
  'statement_descriptor_suffix',
  'expand',
]);
const CONFIRM_KEYS = new Set([
  ...IGNORED,
  ...NEXT_ACTION_KEYS,
  'client_secret',
  'payment_method',
  'receipt_email',
  'shipping',
  'setup_future_usage',
  'capture_method',
  'expand',
]);
const CANCEL_KEYS = new Set(['cancellation_reason', 'expand']);
const RETRIEVE_KEYS = new Set(['client_secret', 'expand']);
const EXPANDABLE = new Set(['latest_charge']);

const CONFIRMABLE: readonly PaymentIntentStatus[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
];
const CANCELABLE: readonly PaymentIntentStatus[] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
];
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;

/** Stripe's ceiling for a single charge (eight digits in the smallest unit). */
const MAX_AMOUNT = 99_999_999;

function readCaptureMethod(params: FormObject): string | undefined {
  const method = optEnum(params, 'capture_method', ['automatic', 'automatic_async', 'manual']);
  if (method === 'manual') {
    throw paramError('capture_method', 'The payment simulator only supports automatic capture (capture_method=automatic or automatic_async).');
  }
  return method;
}

function readAutomaticPaymentMethods(params: FormObject): PaymentIntent['automatic_payment_methods'] | undefined {
  const value = params.automatic_payment_methods;
  if (value === undefined) return undefined;
  if (typeof value === 'string') throw paramError('automatic_payment_methods', 'Invalid object');
  checkKnown(value, new Set(['enabled', 'allow_redirects']), ['automatic_payment_methods']);
  const enabled = optBool(value, 'enabled');
  if (enabled === undefined) {
    throw paramError('automatic_payment_methods[enabled]', 'Missing required param: automatic_payment_methods[enabled].', 'parameter_missing');
  }
  const allowRedirects = optEnum(value, 'allow_redirects', ['always', 'never'], ['automatic_payment_methods']);
  return { enabled, ...(allowRedirects ? { allow_redirects: allowRedirects } : {}) };
}

interface NextActionParams {
  returnUrl: string | undefined;
  useStripeSdk: boolean;
  errorOnRequiresAction: boolean;
}

function readNextActionParams(params: FormObject): NextActionParams {
  const returnUrl = optNonEmptyString(params, 'return_url', [], 2048);
  if (returnUrl !== undefined && !/^https?:\/\/[^\s]+$/i.test(returnUrl)) {
    throw paramError('return_url', 'Not a valid URL', 'url_invalid');
  }
  return {
    returnUrl,
    useStripeSdk: optBool(params, 'use_stripe_sdk') ?? false,
    errorOnRequiresAction: optBool(params, 'error_on_requires_action') ?? false,
  };
}

/** Stripe's answer to `error_on_requires_action` when the bank asks for authentication. */
const AUTHENTICATION_REQUIRED_DECLINE = {
  code: 'authentication_required',
  declineCode: 'authentication_required',
  message: 'Your card was declined. This transaction requires authentication.',
};

/**
 * A publishable key must name the intent by its client secret; a secret key
 * may, and then it must be the right one.
 */
function checkClientSecret(intent: PaymentIntent, params: FormObject, ctx: RequestContext): void {
  const given = optString(params, 'client_secret');
  if (given === undefined) {
    if (ctx.publishableKey) throw missingParam('client_secret');
    return;
  }
  if (given !== intent.client_secret) {
    throw paramError(
      'client_secret',
      'The client_secret provided does not match the client_secret associated with the PaymentIntent.',
      'payment_intent_invalid_parameter',
    );
  }
}

function findTestCard(paymentMethod: string): TestCard {
  const card = TEST_CARDS.get(paymentMethod);
  if (!card) throw noSuchParamObject('PaymentMethod', paymentMethod, 'payment_method');
  return card;
}

export class IntentService {
  constructor(
    private readonly store: SimStore,
    private readonly threeDSecure: ThreeDSecureService,
  ) {}

  private get(id: string): PaymentIntent {
    const intent = this.store.intents.get(id);
    if (!intent) throw noSuchObject('payment_intent', id, 'intent');
    return intent;
  }

  create(params: FormObject, ctx: RequestContext): ApiResult {
    checkKnown(params, CREATE_KEYS);
    const amount = reqInt(params, 'amount', { min: 1 });
    if (amount > MAX_AMOUNT) {
      throw paramError('amount', `Amount must be no more than ${MAX_AMOUNT} in the smallest currency unit.`, 'amount_too_large');
    }
    const currency = optCurrency(params);
    if (currency === undefined) throw missingParam('currency');
    const paymentMethodTypes = optStringList(params, 'payment_method_types');
    const automatic = readAutomaticPaymentMethods(params);
    if (paymentMethodTypes && automatic) {
      throw paramError(
        'automatic_payment_methods',
        'You may only specify one of these parameters: automatic_payment_methods, payment_method_types.',
        'parameters_exclusive',
      );
    }
    const paymentMethod = optNonEmptyString(params, 'payment_method');
    const confirm = optBool(params, 'confirm') ?? false;
    const nextAction = readNextActionParams(params);
    const expand = readExpand(params, EXPANDABLE);
    const created = nowSeconds();
    const id = newId.paymentIntent();
    const intent: PaymentIntent = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      allowed_payment_method_types: optStringList(params, 'allowed_payment_method_types') ?? null,
      automatic_payment_methods: automatic ?? null,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: readCaptureMethod(params) ?? 'automatic_async',
      client_secret: newId.clientSecret(id),
      confirmation_method: optEnum(params, 'confirmation_method', ['automatic', 'manual']) ?? 'automatic',
      created,
      currency,
      customer: optNonEmptyString(params, 'customer') ?? null,
      description: optNonEmptyString(params, 'description') ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: optMetadata(params) ?? {},
      next_action: null,
      payment_method: paymentMethod ?? null,
      payment_method_types: paymentMethodTypes && paymentMethodTypes.length > 0 ? paymentMethodTypes : ['card'],
      receipt_email: optEmail(params, 'receipt_email') ?? null,
      setup_future_usage: optEnum(params, 'setup_future_usage', ['on_session', 'off_session']) ?? null,
      shipping: optShipping(params) ?? null,
      statement_descriptor: optNonEmptyString(params, 'statement_descriptor', [], 22) ?? null,
      statement_descriptor_suffix: optNonEmptyString(params, 'statement_descriptor_suffix', [], 22) ?? null,
      // Stripe: an intent created with a payment method waits for confirmation.
      status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    };
    if (confirm && !paymentMethod) {
      throw paramError(
        'payment_method',
        "You cannot confirm this PaymentIntent because it's missing a payment method. Pass payment_method together with confirm=true.",
        'payment_intent_unexpected_state',
      );
    }
    // An unknown token is refused before anything exists, so nothing half-made is left behind.
    const card = paymentMethod !== undefined && confirm ? findTestCard(paymentMethod) : undefined;

    this.store.save(intent);
    if (this.store.extraEvents()) this.store.emit('payment_intent.created', intent, ctx);
    if (card && paymentMethod) this.pay(intent, paymentMethod, card, ctx, nextAction);
    return { status: 200, body: this.store.presentIntent(intent, expand) };
  }

  retrieve(id: string, params: FormObject, ctx: RequestContext): ApiResult {
    checkKnown(params, RETRIEVE_KEYS);
    const expand = readExpand(params, EXPANDABLE);
    const intent = this.get(id);
    checkClientSecret(intent, params, ctx);
    return { status: 200, body: this.store.presentIntent(intent, expand) };
  }

  confirm(id: string, params: FormObject, ctx: RequestContext): ApiResult {
    checkKnown(params, CONFIRM_KEYS);
    const expand = readExpand(params, EXPANDABLE);
    const requested = optNonEmptyString(params, 'payment_method');
    const shipping = optShipping(params);
    const receiptEmail = optEmail(params, 'receipt_email');
    const nextAction = readNextActionParams(params);
    readCaptureMethod(params);
    const intent = this.get(id);
    checkClientSecret(intent, params, ctx);
    if (!CONFIRMABLE.includes(intent.status)) {
      throw executionError(400, {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message: `You cannot confirm this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(', ')}.`,
        payment_intent: this.store.presentIntent(intent, new Set()),
      });
    }
    const paymentMethod = requested ?? intent.payment_method;
    if (!paymentMethod) {
      throw executionError(400, {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        param: 'payment_method',
        message:
          "You cannot confirm this PaymentIntent because it's missing a payment method. Confirm it again with a payment_method.",
        payment_intent: this.store.presentIntent(intent, new Set()),
      });
    }
    const card = findTestCard(paymentMethod);
    if (shipping !== undefined) intent.shipping = shipping;
    if (receiptEmail !== undefined) intent.receipt_email = receiptEmail;
    this.pay(intent, paymentMethod, card, ctx, nextAction);
    return { status: 200, body: this.store.presentIntent(intent, expand) };
  }

  /**
   * Charges the card, or first asks for 3-D Secure when its bank wants it.
   * A challenge left open by an earlier confirmation is void either way.
   */
  private pay(intent: PaymentIntent, paymentMethod: string, card: TestCard, ctx: RequestContext, next: NextActionParams): void {
    this.threeDSecure.abandon(intent);
    if (card.authenticationRequired && next.errorOnRequiresAction) {
      chargeIntent(this.store, intent, paymentMethod, { ...card, decline: AUTHENTICATION_REQUIRED_DECLINE }, ctx);
      return;
    }
    if (card.authenticationRequired) {
      this.threeDSecure.begin(intent, paymentMethod, ctx, next);
      return;
    }
    chargeIntent(this.store, intent, paymentMethod, card, ctx);
  }

  cancel(id: string, params: FormObject, ctx: RequestContext): ApiResult {
    checkKnown(params, CANCEL_KEYS);
    const expand = readExpand(params, EXPANDABLE);
    const reason = optEnum(params, 'cancellation_reason', CANCELLATION_REASONS);
    const intent = this.get(id);
    if (!CANCELABLE.includes(intent.status)) {
      throw executionError(400, {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message: `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
        payment_intent: this.store.presentIntent(intent, new Set()),
      });
    }
    this.threeDSecure.abandon(intent);
    intent.status = 'canceled';
    intent.next_action = null;
    intent.canceled_at = nowSeconds();
    intent.cancellation_reason = reason ?? null;
    this.store.emit('payment_intent.canceled', intent, ctx);
    return { status: 200, body: this.store.presentIntent(intent, expand) };
  }
}
