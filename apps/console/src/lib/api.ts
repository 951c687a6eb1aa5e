import type { ApiErrorBody } from '../types.js';

/** A failed API call, with the manager's `{error, message, field}` when it sent one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | null,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
  get field(): string | undefined {
    return this.body?.field;
  }
}

/** Called on any 401 outside sign-in: the session ended, show the sign-in screen. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(method: string, path: string, body?: unknown, init?: { signal?: AbortSignal }): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: init?.signal ?? null,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new HttpError(0, null, 'Cannot reach the manager. Check the network or that the manager is running, then try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const errBody = isApiError(json) ? json : null;
    if (res.status === 401 && path !== '/api/auth/login') onUnauthorized();
    throw new HttpError(res.status, errBody, plainMessage(res.status, errBody, path));
  }
  return json as T;
}

function isApiError(v: unknown): v is ApiErrorBody {
  return typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string';
}

const FIELD_WORDS: Record<string, string> = {
  'body.name': 'Name',
  'body.username': 'User name',
  'body.password': 'Password',
  'body.comment': 'Comment',
  'body.source': 'Source',
  'body.destination': 'Destination',
  'body.gateway': 'Gateway',
  'body.gateways': 'Gateways',
};

/** The manager's error in words a person understands. */
export function plainMessage(status: number, body: ApiErrorBody | null, path = ''): string {
  const detail = body?.message?.trim() ?? '';
  switch (status) {
    case 0:
      return 'Cannot reach the manager. Check the network or that the manager is running, then try again.';
    case 400: {
      const lines = detail.split('\n').map((l) => humanizeLine(l)).filter(Boolean);
      return lines.length ? lines.join('\n') : 'The manager refused this input.';
    }
    case 401:
      return path === '/api/auth/login' ? 'Wrong user name or password.' : 'Your session has ended. Sign in again.';
    case 403:
      return 'Your role does not allow this change. Ask an administrator.';
    case 404:
      return detail ? `Not found: ${detail}` : 'It no longer exists; someone may have removed it. Reload to see the current state.';
    case 409:
      return detail ? capitalize(detail) : 'This conflicts with the current state (a duplicate name, or something still in use).';
    case 413:
      return 'That is too large for the manager to accept.';
    case 415:
      return 'The manager could not read the request.';
    case 429:
      return 'Too many attempts. Wait a minute and try again.';
    default:
      if (status >= 500) return 'The manager hit an internal error; the details are in its log. Try again, or report it.';
      return detail || `The manager answered ${status}.`;
  }
}

/** "body.settings.limit: Too big: expected number to be <=1000000" -> "limit: must be at most 1000000". */
export function humanizeLine(line: string): string {
  const m = /^([\w.[\]-]+):\s*(.*)$/.exec(line.trim());
  if (!m) return capitalize(line.trim());
  const [, path = '', rest = ''] = m;
  const field = FIELD_WORDS[path] ?? path.replace(/^(body|query|params)\.(settings\.)?/, '');
  return `${field}: ${humanizeReason(rest)}`;
}

export function humanizeReason(reason: string): string {
  let r = reason.trim();
  r = r.replace(/^Too big: expected \w+ to be <=?\s*/i, 'must be at most ');
  r = r.replace(/^Too small: expected \w+ to be >=?\s*/i, 'must be at least ');
  r = r.replace(/^Invalid input: expected (\w+), received (\w+)/i, 'must be a $1, not $2');
  return r;
}

function capitalize(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

export function errorMessage(err: unknown): string {
  if (err instanceof HttpError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Build `?a=b&c=d` from defined, non-empty values; arrays become comma-separated lists. */
export function queryString(params: Record<string, string | number | readonly string[] | undefined | null>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length) sp.set(k, v.join(','));
    } else sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}
