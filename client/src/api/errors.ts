// Turns a failed request into what a form shows: a sentence and per-field messages.

import axios from 'axios';
import type { ApiErrorBody } from './types';

export interface ProblemDescription {
  /** A sentence for the user. */
  message: string;
  /** Messages per request field, from the server's `details`. */
  fieldErrors: Record<string, string[]>;
  code?: string;
  status?: number;
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiErrorBody).error === 'string' &&
    typeof (value as ApiErrorBody).code === 'string'
  );
}

function normaliseDetails(details: unknown): Record<string, string[]> {
  if (typeof details !== 'object' || details === null) return {};
  const result: Record<string, string[]> = {};
  for (const [field, value] of Object.entries(details)) {
    if (Array.isArray(value)) {
      const messages = value.filter((m): m is string => typeof m === 'string');
      if (messages.length > 0) result[field] = messages;
    } else if (typeof value === 'string') {
      result[field] = [value];
    }
  }
  return result;
}

export function describeError(error: unknown): ProblemDescription {
  if (axios.isAxiosError(error)) {
    const status = error.response?.status;
    const body: unknown = error.response?.data;
    if (isApiErrorBody(body)) {
      return {
        message: body.error,
        code: body.code,
        status,
        fieldErrors: normaliseDetails(body.details),
      };
    }
    if (!error.response) {
      return { message: 'Could not reach the server. Check your connection and try again.', fieldErrors: {} };
    }
    if (status === 429) {
      return { message: 'Too many attempts. Please wait a moment and try again.', status, fieldErrors: {} };
    }
    return { message: `The server answered with an error (${status}).`, status, fieldErrors: {} };
  }
  if (error instanceof Error && error.message) return { message: error.message, fieldErrors: {} };
  return { message: 'Something went wrong.', fieldErrors: {} };
}

/**
 * Splits field errors into those a form shows next to its fields and the rest, which the
 * form shows in its general error area.
 */
export function splitFieldErrors(
  fieldErrors: Record<string, string[]>,
  formFields: readonly string[],
): { byField: Record<string, string>; other: string[] } {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  for (const [field, messages] of Object.entries(fieldErrors)) {
    if (formFields.includes(field)) byField[field] = messages.join(' ');
    else other.push(...messages.map((m) => `${field}: ${m}`));
  }
  return { byField, other };
}

/**
 * Why an upload failed, as a sentence about `what` was not sent ("image", "file", "voice message"),
 * and whether sending the same file again may work (the server could not be reached or was busy)
 * or not (the file was refused).
 */
export function describeUploadError(error: unknown, what = 'image'): { message: string; retriable: boolean } {
  const problem = describeError(error);
  const status = problem.status;
  let reason: string;
  switch (status) {
    case 413:
      reason =
        problem.code === 'image_too_large'
          ? 'the image is too large (too many pixels or frames).'
          : problem.code === 'quota_exceeded'
            ? 'your storage for uploads is full.'
            : 'the file is too large.';
      break;
    case 415:
      reason = 'the file is not a PNG, JPEG, GIF or WebP image.';
      break;
    case 422:
      reason = 'the image could not be read.';
      break;
    default:
      reason = problem.message;
  }
  const retriable = status === undefined || status >= 500 || status === 408 || status === 429;
  return { message: `The ${what} was not sent: ${reason}`, retriable };
}
