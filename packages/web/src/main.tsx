import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { isSessionEnded, SESSION_KEY } from './session/session';
import './styles.css';
import './shell/shell.css';

// Any answer that says the session ended makes the session be read again; the shell's gate then sends the person
// to the sign-in page once, with the reason. The session's own query is exempt, or it would ask itself forever.
const onError = (error: unknown, key?: readonly unknown[]) => {
  if (isSessionEnded(error) && key?.[0] !== SESSION_KEY[0])
    void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
};

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: (error, query) => onError(error, query.queryKey) }),
  mutationCache: new MutationCache({ onError: (error) => onError(error) }),
  // Server state is kept fresh by the change feed (SSE), not by refetching on focus.
  defaultOptions: { queries: { refetchOnWindowFocus: false, retry: false } },
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
