import { useState } from 'react';
import { ApiError } from '../api/client';
import { translateFieldErrors } from './fieldMessages';

/** Form state plus the field errors a 400 validation_failed / 409 conflict answered. */
export function useForm<T extends Record<string, unknown>>(initial: T) {
  const [values, setValues] = useState<T>(initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<unknown>(null);
  return {
    values,
    errors,
    formError,
    set<K extends keyof T>(key: K, value: T[K]) {
      setValues((v) => ({ ...v, [key]: value }));
      if (errors[key as string]) setErrors((e) => ({ ...e, [key as string]: '' }));
    },
    reset(v: T) {
      setValues(v);
      setErrors({});
      setFormError(null);
    },
    /** Shows a failed save: field errors next to fields, anything else above the form. */
    fail(err: unknown) {
      if (err instanceof ApiError) {
        const fe = translateFieldErrors(err.fieldErrors);
        if (Object.keys(fe).length) {
          setErrors(fe);
          // errors for fields the form does not show go above it ("business_hours.days.mon[0]" belongs to business_hours)
          const unknown = Object.keys(fe).filter((k) => !(k in values) && !(k.split(/[.[]/)[0] in values));
          setFormError(unknown.length ? new ApiError(err.status, 'field_errors', unknown.map((k) => `${k}: ${fe[k]}`).join('; ')) : null);
          return;
        }
      }
      setErrors({});
      setFormError(err);
    },
    clearErrors() {
      setErrors({});
      setFormError(null);
    },
  };
}
