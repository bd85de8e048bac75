import { useCallback, useState } from 'react';
import type { ApiError } from './api/client';
import { SessionProvider } from './hooks/session';
import { clearToken, loadToken, saveToken } from './lib/session-storage';
import { Dashboard } from './pages/Dashboard';
import { Login } from './pages/Login';

export function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [notice, setNotice] = useState<string | null>(null);

  const login = useCallback((t: string) => {
    saveToken(t);
    setNotice(null);
    setToken(t);
  }, []);
  const logout = useCallback(() => {
    clearToken();
    setToken(null);
  }, []);
  const unauthorized = useCallback((error: ApiError) => {
    clearToken();
    setToken(null);
    setNotice(`Signed out: the engine no longer accepts this token (${error.message}). It may have restarted with a new one.`);
  }, []);

  if (!token) return <Login onLogin={login} notice={notice} />;
  return (
    <SessionProvider token={token} onUnauthorized={unauthorized}>
      <Dashboard onLogout={logout} />
    </SessionProvider>
  );
}
