import { lazy, Suspense, useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from './lib/api.js';
import { linkHandler, navigate, usePath } from './lib/router.js';
import { sessionHint, useDraft, useMe } from './lib/queries.js';
import { ErrorText, Loading } from './components/common.js';
import { SignIn } from './screens/SignIn.js';
import { IpsTab } from './screens/ips/IpsTab.js';
import { InstallDialog } from './screens/policy/InstallDialog.js';
import type { User } from './types.js';

// Screens off the first paint load on demand (the IPS tab is the landing screen).
const Logs = lazy(() => import('./screens/logs/Logs.js').then((m) => ({ default: m.Logs })));
const Gateways = lazy(() => import('./screens/Gateways.js').then((m) => ({ default: m.Gateways })));
const Revisions = lazy(() => import('./screens/policy/Revisions.js').then((m) => ({ default: m.Revisions })));
const Audit = lazy(() => import('./screens/Audit.js').then((m) => ({ default: m.Audit })));
const LogExport = lazy(() => import('./screens/LogExport.js').then((m) => ({ default: m.LogExport })));

const TABS: Array<{ path: string; label: string; adminOnly?: boolean }> = [
  { path: '/ips', label: 'IPS' },
  { path: '/policy', label: 'Policy' },
  { path: '/gateways', label: 'Gateways' },
  { path: '/logs', label: 'Logs' },
  { path: '/audit', label: 'Audit', adminOnly: true },
  { path: '/log-export', label: 'Log export', adminOnly: true },
];

export function App() {
  const me = useMe();
  if (me.isPending) return <Loading what="session" />;
  if (me.isError) {
    return (
      <main className="signin">
        <ErrorText error={me.error} />
        <button type="button" onClick={() => void me.refetch()}>
          Try again
        </button>
      </main>
    );
  }
  if (!me.data) return <SignIn />;
  return <Shell user={me.data} />;
}

function Shell({ user }: { user: User }) {
  const path = usePath();
  const qc = useQueryClient();
  const [installOpen, setInstallOpen] = useState(false);
  const tabs = TABS.filter((t) => !t.adminOnly || user.role === 'admin');
  const active = tabs.find((t) => path === t.path || path.startsWith(`${t.path}/`)) ?? null;
  useEffect(() => {
    if (!active) navigate('/ips', true);
  }, [active]);
  useEffect(() => {
    document.title = `${active?.label ?? 'IPS'} · smtpguard`;
  }, [active]);

  const signOut = async () => {
    try {
      await api('POST', '/api/auth/logout');
    } finally {
      sessionHint.set(false);
      qc.clear();
      qc.setQueryData(['me'], null);
      navigate('/', true);
    }
  };

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand" aria-label="smtpguard">
          smtp<b>guard</b>
        </span>
        <nav aria-label="Main">
          <ul className="tabs">
            {tabs.map((t) => (
              <li key={t.path}>
                <a href={t.path} aria-current={active === t ? 'page' : undefined} onClick={linkHandler(t.path)}>
                  {t.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who" aria-label="Signed in user">
          <span className="user-name">{user.username}</span>
          <span className={`role role-${user.role}`}>{user.role === 'admin' ? 'Administrator' : 'Operator (read-only)'}</span>
          <button type="button" className="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <PolicyBar canInstall={user.role === 'admin'} onInstall={() => setInstallOpen(true)} />
      <main className="content">
        <Suspense fallback={<Loading what="screen" />}>
          {active?.path === '/ips' && <IpsTab />}
          {active?.path === '/policy' && <Revisions />}
          {active?.path === '/gateways' && <Gateways />}
          {active?.path === '/logs' && <Logs />}
          {active?.path === '/audit' && <Audit />}
          {active?.path === '/log-export' && <LogExport />}
        </Suspense>
      </main>
      {installOpen && <InstallDialog onClose={() => setInstallOpen(false)} />}
    </div>
  );
}

/** "Policy changed, not installed" is visible everywhere, with Install Policy next to it. */
function PolicyBar({ canInstall, onInstall }: { canInstall: boolean; onInstall: () => void }) {
  const draft = useDraft();
  const changes = draft.data?.changes.length ?? 0;
  const installed = draft.data?.basedOnRevision ?? null;
  const dirty = changes > 0;
  return (
    <div className={dirty ? 'policybar dirty' : 'policybar'} role="region" aria-label="Policy status">
      <span role="status" className="policy-state">
        {draft.isPending
          ? 'Loading policy…'
          : dirty
            ? `Policy changed, not installed (${changes} change${changes === 1 ? '' : 's'}${installed ? ` since revision ${installed}` : ''})`
            : installed
              ? `Policy installed: revision ${installed}`
              : 'No policy installed yet'}
      </span>
      {dirty && (
        <a href="/policy" onClick={linkHandler('/policy')}>
          Review changes
        </a>
      )}
      <ErrorText error={draft.error} />
      <span className="spacer" />
      <button
        type="button"
        className={dirty ? 'primary' : undefined}
        onClick={onInstall}
        disabled={!canInstall}
        title={canInstall ? 'Compile the draft into a revision and install it on gateways' : 'Administrators only'}
      >
        Install Policy
      </button>
    </div>
  );
}
