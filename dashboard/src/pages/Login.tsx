import { useState, type FormEvent } from 'react';
import { validateToken } from '../api/client';

export function Login(props: { onLogin: (token: string) => void; notice?: string | null }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Enter the API token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await validateToken(t);
      props.onLogin(t);
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 401) setError('The engine refused this token (401). Use the token printed when the engine started, or the value of NOISE_API_TOKEN.');
      else if (status === 429) setError('Too many requests; wait a moment and try again.');
      else setError(`Could not check the token: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} data-testid="login-form">
        <h1>
          NOISE <span className="muted">dashboard</span>
        </h1>
        <p className="muted">
          Enter the API token. The engine prints it when it starts (or it is the value of <code>NOISE_API_TOKEN</code>). It is kept
          in this tab only.
        </p>
        {props.notice ? (
          <p className="note warn" data-testid="login-notice">
            {props.notice}
          </p>
        ) : null}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          data-testid="login-token"
          spellCheck={false}
        />
        <button type="submit" className="primary" disabled={busy} data-testid="login-submit">
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error ? (
          <p className="note err" role="alert" data-testid="login-error">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}
