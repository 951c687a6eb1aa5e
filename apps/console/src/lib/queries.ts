import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api, HttpError } from './api.js';
import type {
  AuditEntry,
  DraftResponse,
  ExceptionView,
  Gateway,
  Install,
  Profile,
  ProtectionView,
  RevisionSummary,
  User,
} from '../types.js';

export const keys = {
  me: ['me'] as const,
  protections: ['protections'] as const,
  profiles: ['profiles'] as const,
  exceptions: ['exceptions'] as const,
  draft: ['draft'] as const,
  revisions: ['revisions'] as const,
  installs: ['installs'] as const,
  gateways: ['gateways'] as const,
  audit: ['audit'] as const,
};

/**
 * Whether this browser signed in before. The session cookie is HttpOnly, so without this hint
 * the first screen would probe /api/auth/me and log a 401 in the console on every sign-in page.
 */
const HINT = 'smtpguard.signedIn';
export const sessionHint = {
  get: () => {
    try {
      return localStorage.getItem(HINT) === '1';
    } catch {
      return true;
    }
  },
  set: (on: boolean) => {
    try {
      if (on) localStorage.setItem(HINT, '1');
      else localStorage.removeItem(HINT);
    } catch {
      /* private mode: the probe just happens */
    }
  },
};

export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async () => {
      if (!sessionHint.get()) return null;
      try {
        return (await api<{ user: User }>('GET', '/api/auth/me')).user;
      } catch (err) {
        if (err instanceof HttpError && err.status === 401) {
          sessionHint.set(false);
          return null;
        }
        throw err;
      }
    },
    staleTime: 60_000,
    retry: (n, err) => !(err instanceof HttpError) && n < 2,
  });
}

export function useCanEdit(): boolean {
  const me = useMe();
  return me.data?.role === 'admin';
}

export const useProtections = () =>
  useQuery({ queryKey: keys.protections, queryFn: () => api<{ protections: ProtectionView[] }>('GET', '/api/protections').then((r) => r.protections) });
export const useProfiles = () =>
  useQuery({ queryKey: keys.profiles, queryFn: () => api<{ profiles: Profile[] }>('GET', '/api/profiles').then((r) => r.profiles) });
export const useExceptions = () =>
  useQuery({ queryKey: keys.exceptions, queryFn: () => api<{ exceptions: ExceptionView[] }>('GET', '/api/exceptions').then((r) => r.exceptions) });
export const useDraft = () => useQuery({ queryKey: keys.draft, queryFn: () => api<DraftResponse>('GET', '/api/draft') });
export const useRevisions = () =>
  useQuery({ queryKey: keys.revisions, queryFn: () => api<{ revisions: RevisionSummary[] }>('GET', '/api/revisions').then((r) => r.revisions) });
export const useInstalls = (poll = false) =>
  useQuery({
    queryKey: keys.installs,
    queryFn: () => api<{ installs: Install[] }>('GET', '/api/installs').then((r) => r.installs),
    refetchInterval: poll ? 500 : false,
  });
/** Gateways' status is live: polled every 3 s while a screen shows it. */
export const useGateways = (live = true) =>
  useQuery({
    queryKey: keys.gateways,
    queryFn: () => api<{ gateways: Gateway[] }>('GET', '/api/gateways').then((r) => r.gateways),
    refetchInterval: live ? 3000 : false,
  });
export const useAudit = () =>
  useQuery({ queryKey: keys.audit, queryFn: () => api<{ entries: AuditEntry[]; nextCursor: string | null }>('GET', '/api/audit?limit=200') });

/** Everything an edit of the draft can change. */
export function invalidatePolicy(qc: QueryClient): Promise<unknown> {
  return Promise.all(
    [keys.protections, keys.profiles, keys.exceptions, keys.draft, keys.audit, keys.gateways].map((k) => qc.invalidateQueries({ queryKey: k })),
  );
}

/** A mutation that refreshes the policy views when it succeeds. */
export function usePolicyMutation<TVars, TData = unknown>(fn: (vars: TVars) => Promise<TData>, onSuccess?: (data: TData) => void) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: async (data) => {
      await invalidatePolicy(qc);
      onSuccess?.(data);
    },
  });
}
