import { describe, expect, it } from 'vitest';
import { fieldErrorsFrom } from './field-errors';

const known = ['customer.email', 'customer.address.postalCode', 'customer.name'];

describe('server errors next to their fields', () => {
  it('places each validation problem on its field', () => {
    const r = fieldErrorsFrom(
      { message: 'customer.email: email is not a valid address; customer.address.postalCode: postal code is malformed', data: { field: 'customer.email' } },
      known,
    );
    expect(r.fields).toEqual({ 'customer.email': 'email is not a valid address', 'customer.address.postalCode': 'postal code is malformed' });
    expect(r.other).toBeNull();
  });

  it('uses data.field for a domain error, and keeps errors about nothing on the form as a whole', () => {
    expect(fieldErrorsFrom({ message: 'Bad name', data: { field: 'customer.name' } }, known).fields).toEqual({ 'customer.name': 'Bad name' });
    expect(fieldErrorsFrom({ message: 'The cart is empty', data: { field: 'cartId' } }, known)).toEqual({ fields: {}, other: 'The cart is empty' });
  });
});
