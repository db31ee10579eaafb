import { errorTypeOf, instruments } from '@bizmon/core';
import { inputFailed, numberOf, roleOf } from './input';
import { recordPurchaser } from './users';
import { functionMonitor, type CallMonitor, type FunctionMonitor } from './wrap';

/** A consume operation. */
export interface CreditsConsumed {
  /** Credits spent (>= 0). */
  amount: number;
  /** Role label; default the current request's user role, else `anonymous`. */
  userRole?: string;
  /** The user's balance after the operation, observed in `user_credits_balance`. */
  balanceAfter?: number;
}

/** A refund. */
export interface CreditsRefunded {
  /** Credits given back; accepted for symmetry, no contract metric carries refund amounts. */
  amount: number;
  userRole?: string;
}

/** A purchase (top-up). */
export interface CreditsPurchased {
  /** Credits bought (>= 0). */
  amount: number;
  userRole?: string;
  /** The buyer: counts towards `credit_conversion_rate` (never a label). */
  userId?: string;
}

/**
 * Credits metrics (`credits_operations_total`, `credits_consumed_total`,
 * `credits_purchased_total`, `user_credits_balance`). Safe no-ops before bizmon starts; never
 * throw. A bad amount (NaN, negative, infinite, not a number) is dropped and counted; the
 * operation itself is still counted.
 */
export const credits = {
  /** `credits_operations_total{operation="consume"}`, the amount in `credits_consumed_total`. */
  consumed(op: CreditsConsumed): void {
    try {
      const role = roleOf(op.userRole);
      instruments.credits_operations_total.labels('consume', role).add(1);
      instruments.credits_consumed_total.labels(role).add(numberOf(op.amount));
      const balance = op.balanceAfter;
      if (balance !== undefined)
        instruments.user_credits_balance.labels().observe(numberOf(balance));
    } catch (err) {
      inputFailed('credits_operations_total', 'credits.consumed', err);
    }
  },

  /** `credits_operations_total{operation="refund"}`. */
  refunded(op: CreditsRefunded): void {
    try {
      instruments.credits_operations_total.labels('refund', roleOf(op.userRole)).add(1);
    } catch (err) {
      inputFailed('credits_operations_total', 'credits.refunded', err);
    }
  },

  /**
   * `credits_operations_total{operation="purchase"}`, the amount in `credits_purchased_total`;
   * with `userId`, the buyer counts as a purchaser (and as active) today.
   */
  purchased(op: CreditsPurchased): void {
    try {
      const role = roleOf(op.userRole);
      instruments.credits_operations_total.labels('purchase', role).add(1);
      instruments.credits_purchased_total.labels(role).add(numberOf(op.amount));
      const userId = op.userId;
      if (userId !== undefined) recordPurchaser(userId);
    } catch (err) {
      inputFailed('credits_operations_total', 'credits.purchased', err);
    }
  },
};

/** The balance a consume function returned: its `credit`, else its `balance`, when numeric. */
function balanceOf(result: unknown): number | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  try {
    const { credit, balance } = result as { credit?: unknown; balance?: unknown };
    if (credit !== undefined && credit !== null) return numberOf(credit);
    if (balance !== undefined && balance !== null) return numberOf(balance);
  } catch {
    // A result whose getters throw has no readable balance.
  }
  return undefined;
}

class CreditsMonitor implements CallMonitor {
  constructor(private readonly operation: string) {}
  begin(): string {
    return roleOf(undefined);
  }
  succeeded(role: string, _seconds: number, result: unknown): void {
    try {
      instruments.credits_operations_total.labels(this.operation, role).add(1);
      if (this.operation === 'consume') {
        const balance = balanceOf(result);
        if (balance !== undefined) instruments.user_credits_balance.labels().observe(balance);
      }
    } catch (err) {
      inputFailed('credits_operations_total', 'monitorCreditsOperation', err);
    }
  }
  failed(_role: string, _seconds: number, error: unknown): void {
    try {
      instruments.application_errors_total.labels(errorTypeOf(error), 'credits_system').add(1);
    } catch (err) {
      inputFailed('application_errors_total', 'monitorCreditsOperation', err);
    }
  }
}

/**
 * Monitors a credits function or method as the seed's decorator does: each successful call
 * counts `credits_operations_total{operation, user_role}`; for `consume`, the returned object's
 * `credit` (or `balance`) is observed in `user_credits_balance`; a failure counts
 * `application_errors_total{error_type, component="credits_system"}` and is re-thrown.
 * Wrapper (`monitorCreditsOperation('consume')(fn)`) or method decorator (either style).
 */
export function monitorCreditsOperation(
  operation: 'consume' | 'refund' | 'purchase' | (string & {}),
): FunctionMonitor {
  return functionMonitor(new CreditsMonitor(operation), 'monitorCreditsOperation');
}
