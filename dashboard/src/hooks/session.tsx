// The API client and the event stream, shared by every section of the page.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiClient, type ApiError } from '../api/client';
import { connectStream, type StreamHandle, type StreamState } from '../api/sse';
import type { StreamEvent } from '../api/types';

type Listener = (event: StreamEvent) => void;

export interface Session {
  client: ApiClient;
  stream: StreamState;
  /** Adds a listener for every stream event; returns its removal. */
  subscribe: (listener: Listener) => () => void;
  /** Bumped when events may have been missed (reconnect, lag): everything refetches. */
  resyncKey: number;
  /** The engine's clock as its latest event said (simulated time in the sim). */
  engineTime: string | null;
  /** Bumped by controls and buttons that want everything fresh now. */
  refreshAll: () => void;
  /** Reconnects the event stream now if it is waiting to. */
  reconnectStream: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

export function SessionProvider(props: {
  token: string;
  onUnauthorized: (error: ApiError) => void;
  children: ReactNode;
}) {
  const { token, onUnauthorized } = props;
  const unauthorized = useRef(onUnauthorized);
  unauthorized.current = onUnauthorized;
  const client = useMemo(
    () => new ApiClient(token, { onUnauthorized: (e) => unauthorized.current(e) }),
    [token],
  );
  const listeners = useRef(new Set<Listener>());
  const [stream, setStream] = useState<StreamState>({ state: 'connecting', attempt: 0 });
  const [resyncKey, setResyncKey] = useState(0);
  const [engineTime, setEngineTime] = useState<string | null>(null);
  const latestTime = useRef<string | null>(null);

  const handle = useRef<StreamHandle | null>(null);
  useEffect(() => {
    let timeTimer: ReturnType<typeof setTimeout> | null = null;
    const stream = connectStream({
      url: client.url('events'),
      token,
      onState: setStream,
      onOpen: (reconnect) => {
        if (reconnect) setResyncKey((k) => k + 1);
      },
      onUnauthorized: (e) => unauthorized.current(e),
      onEvent: (event) => {
        if (event.kind === 'lagged') setResyncKey((k) => k + 1);
        if (event.time && (!latestTime.current || event.time > latestTime.current)) {
          latestTime.current = event.time;
          // one render per burst of events, not per event
          if (!timeTimer) {
            timeTimer = setTimeout(() => {
              timeTimer = null;
              setEngineTime(latestTime.current);
            }, 500);
          }
        }
        for (const listener of listeners.current) {
          try {
            listener(event);
          } catch (error) {
            console.error('stream listener failed', error);
          }
        }
      },
    });
    handle.current = stream;
    return () => {
      stream.stop();
      handle.current = null;
      if (timeTimer) clearTimeout(timeTimer);
    };
  }, [client, token]);
  const reconnectStream = useCallback(() => handle.current?.retryNow(), []);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const refreshAll = useCallback(() => setResyncKey((k) => k + 1), []);

  const value = useMemo<Session>(
    () => ({ client, stream, subscribe, resyncKey, engineTime, refreshAll, reconnectStream }),
    [client, stream, subscribe, resyncKey, engineTime, refreshAll, reconnectStream],
  );
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}
