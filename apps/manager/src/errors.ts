import type { ApiError as ApiErrorBody } from '@smtpguard/contracts';
import { describeZodError } from '@smtpguard/contracts';
import type { z } from 'zod';

type Code = ApiErrorBody['error'];

const STATUS: Record<Code, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
};

/** The one error type routes throw; the error handler turns it into `{error, message, field?}`. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: Code,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
  body(): ApiErrorBody {
    return this.field === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, message: this.message, field: this.field };
  }
}

export const badRequest = (field: string, message: string) => new ApiError('bad_request', `${field}: ${message}`, field);
export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);
export const conflict = (message: string) => new ApiError('conflict', message);

/** A zod failure as a 400 naming the first bad field, prefixed with where it came from (body/query/params). */
export function fromZod(where: string, error: z.ZodError): ApiError {
  const first = error.issues[0];
  const field = [where, ...(first?.path ?? [])].join('.');
  const message = describeZodError(error)
    .split('\n')
    .map((line) => `${where}.${line}`.replace(`${where}.(root)`, where))
    .join('\n');
  return new ApiError('bad_request', message, field);
}
