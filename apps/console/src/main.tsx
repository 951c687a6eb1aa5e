import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { HttpError, setUnauthorizedHandler } from './lib/api.js';
import { keys, sessionHint } from './lib/queries.js';
import { App } from './App.js';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      refetchOnWindowFocus: true,
      retry: (count, err) => !(err instanceof HttpError && err.status >= 400 && err.status < 500) && count < 2,
    },
  },
});
setUnauthorizedHandler(() => {
  sessionHint.set(false);
  queryClient.setQueryData(keys.me, null);
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
