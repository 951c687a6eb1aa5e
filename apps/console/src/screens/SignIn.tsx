import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api.js';
import { keys, sessionHint } from '../lib/queries.js';
import { ErrorText } from '../components/common.js';
import type { User } from '../types.js';

export function SignIn() {
  const qc = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation({
    mutationFn: () => api<{ user: User }>('POST', '/api/auth/login', { username, password }),
    onSuccess: ({ user }) => {
      sessionHint.set(true);
      qc.setQueryData(keys.me, user);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (username && password) login.mutate();
  };
  return (
    <main className="signin">
      <form onSubmit={submit} className="signin-box" aria-labelledby="signin-title">
        <h1 id="signin-title">
          smtp<b>guard</b> <span className="muted">Security Management</span>
        </h1>
        <label>
          User name
          <input name="username" autoComplete="username" autoFocus required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <ErrorText error={login.error} />
        <button type="submit" className="primary" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
