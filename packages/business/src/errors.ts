import { errorTypeOf, instruments } from '@bizmon/core';
import { inputFailed } from './input';

/** A failed payment. */
export interface PaymentFailure {
  /** Payment provider (`alipay`, `wechat`, `stripe`, …). */
  provider: string;
  /** Short, bounded reason (`timeout`, `declined`) — never a raw message. */
  reason: string;
}

/** A failed upload. */
export interface FileUploadFailure {
  /** Short, bounded reason (`too_large`, `bad_type`, `storage_error`). */
  reason: string;
}

/**
 * Error metrics (`application_errors_total`, `payment_failures_total`,
 * `file_upload_failures_total`). Safe no-ops before bizmon starts; never throw.
 */
export const errors = {
  /**
   * `application_errors_total{error_type, component}`; `error_type` is the error's class
   * name (`TypeError`), else its `name`, else `unknown`.
   */
  record(error: unknown, component: string): void {
    try {
      instruments.application_errors_total.labels(errorTypeOf(error), component).add(1);
    } catch (err) {
      inputFailed('application_errors_total', 'errors.record', err);
    }
  },

  /** `payment_failures_total{provider, reason}`. */
  paymentFailure(failure: PaymentFailure): void {
    try {
      instruments.payment_failures_total.labels(failure.provider, failure.reason).add(1);
    } catch (err) {
      inputFailed('payment_failures_total', 'errors.paymentFailure', err);
    }
  },

  /** `file_upload_failures_total{reason}`. */
  fileUploadFailure(failure: FileUploadFailure): void {
    try {
      instruments.file_upload_failures_total.labels(failure.reason).add(1);
    } catch (err) {
      inputFailed('file_upload_failures_total', 'errors.fileUploadFailure', err);
    }
  },
};
