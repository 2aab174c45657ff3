/**
 * Stripe-shaped API errors.
 *
 * `stage` exists for idempotency: Stripe saves a keyed request's result only
 * once the endpoint has begun executing. A request that fails parameter
 * validation is not saved, so the client may fix it and retry with the same
 * key; an error met while executing (declined card, wrong state, missing
 * object) is saved and replayed like a success.
 */
import type { PaymentIntent, PaymentMethodSnapshot, StripeErrorBody } from './types';

export type ErrorStage = 'validation' | 'execution';

export interface StripeErrorFields {
  type: string;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  charge?: string;
  payment_intent?: PaymentIntent;
  payment_method?: PaymentMethodSnapshot;
}

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly fields: StripeErrorFields,
    readonly stage: ErrorStage,
  ) {
    super(fields.message);
    this.name = 'StripeApiError';
  }

  toBody(): StripeErrorBody {
    const { code } = this.fields;
    return {
      error: {
        ...this.fields,
        ...(code ? { doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}` } : {}),
      },
    };
  }
}

/** 400 invalid_request_error raised while checking parameters (never stored for idempotency). */
export function paramError(param: string, message: string, code?: string): StripeApiError {
  return new StripeApiError(
    400,
    { type: 'invalid_request_error', message, param, ...(code ? { code } : {}) },
    'validation',
  );
}

export function missingParam(param: string): StripeApiError {
  return paramError(param, `Missing required param: ${param}.`, 'parameter_missing');
}

export function unknownParam(param: string): StripeApiError {
  return paramError(param, `Received unknown parameter: ${param}`, 'parameter_unknown');
}

/** 404 for an object named in the URL. */
export function noSuchObject(kind: string, id: string, param: string): StripeApiError {
  return new StripeApiError(
    404,
    { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${kind}: '${id}'` },
    'execution',
  );
}

/** 400 for an object named in a parameter (Stripe answers 400, not 404, here). */
export function noSuchParamObject(kind: string, id: string, param: string): StripeApiError {
  return new StripeApiError(
    400,
    { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${kind}: '${id}'` },
    'execution',
  );
}

export function executionError(
  status: number,
  fields: StripeErrorFields,
): StripeApiError {
  return new StripeApiError(status, fields, 'execution');
}
