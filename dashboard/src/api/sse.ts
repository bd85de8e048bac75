// Server-sent events over fetch(): EventSource cannot send the Authorization
// header, so the body stream is read and parsed here.
//
// The parser follows the SSE format: lines end in LF, CRLF or CR; a blank line
// dispatches the event; `event:` sets its kind, `data:` lines are joined with
// LF; lines starting with `:` are comments (keep-alives); one space after the
// colon is dropped; an event without data is not dispatched.

import { errorFrom, networkError, type ApiError } from './client';
import type { StreamEvent } from './types';

export interface RawSseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private buffer = '';
  /** The last chunk ended in CR: a following LF belongs to that line end. */
  private pendingCR = false;
  private eventType = '';
  private dataLines: string[] = [];
  private hasData = false;
  private lastId: string | undefined;
  /** The server's `retry:` advice, in ms. */
  retry: number | undefined;

  /** Feeds decoded text; returns the events it completed. */
  push(chunk: string): RawSseEvent[] {
    const out: RawSseEvent[] = [];
    let text = chunk;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) out.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** Forgets a partial event (the connection dropped mid-event). */
  reset(): void {
    this.buffer = '';
    this.pendingCR = false;
    this.eventType = '';
    this.dataLines = [];
    this.hasData = false;
  }

  private line(line: string): RawSseEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): RawSseEvent | null {
    const event: RawSseEvent | null = this.hasData
      ? { event: this.eventType || 'message', data: this.dataLines.join('\n'), id: this.lastId }
      : null;
    this.eventType = '';
    this.dataLines = [];
    this.hasData = false;
    return event;
  }
}

/** A raw SSE event of the engine's stream, with its JSON parsed. */
export function toStreamEvent(raw: RawSseEvent): StreamEvent {
  let data: StreamEvent['data'] = null;
  try {
    data = JSON.parse(raw.data) as StreamEvent['data'];
  } catch {
    data = null;
  }
  const time =
    data && typeof data === 'object' && 'time' in data && typeof data.time === 'string' ? data.time : null;
  return { kind: raw.event, data, time };
}

export type StreamState =
  | { state: 'connecting'; attempt: number }
  | { state: 'live'; since: number }
  | { state: 'reconnecting'; attempt: number; retryAt: number; reason: string }
  | { state: 'unavailable'; retryAt: number; reason: string }
  | { state: 'stopped' };

export interface StreamOptions {
  url: string;
  token: string;
  onEvent: (event: StreamEvent) => void;
  onState: (state: StreamState) => void;
  /** Each (re)connection that got a 200: events may have been missed before it. */
  onOpen?: (reconnect: boolean) => void;
  onUnauthorized?: (error: ApiError) => void;
  /** Backoff bounds (ms). */
  minDelay?: number;
  maxDelay?: number;
  /** No byte for this long (ms) means a dead connection (the server keeps alive every 15 s). */
  idleTimeout?: number;
  fetchImpl?: typeof fetch;
}

/** The wait before reconnect attempt `attempt` (1-based): doubling, capped, with jitter. */
export function backoffDelay(attempt: number, min = 1000, max = 30000, random = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + 0.5 * random()));
}

export interface StreamHandle {
  /** Stops for good. */
  stop: () => void;
  /** While waiting to reconnect: reconnect now (the engine is known to be back). */
  retryNow: () => void;
}

/**
 * Connects to the event stream and keeps it connected: on a drop, waits with
 * backoff and reconnects.
 */
export function connectStream(options: StreamOptions): StreamHandle {
  const minDelay = options.minDelay ?? 1000;
  const maxDelay = options.maxDelay ?? 20000;
  const idleTimeout = options.idleTimeout ?? 45000;
  const doFetch = options.fetchImpl ?? fetch.bind(globalThis);
  let stopped = false;
  let attempt = 0;
  let connectedOnce = false;
  let controller: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const schedule = (reason: string, unavailable = false) => {
    if (stopped) return;
    attempt += 1;
    const delay = unavailable ? Math.max(10000, backoffDelay(attempt, minDelay, maxDelay)) : backoffDelay(attempt, minDelay, maxDelay);
    const retryAt = Date.now() + delay;
    options.onState(unavailable ? { state: 'unavailable', retryAt, reason } : { state: 'reconnecting', attempt, retryAt, reason });
    timer = setTimeout(run, delay);
  };

  const run = async () => {
    timer = null;
    if (stopped) return;
    controller = new AbortController();
    const local = controller;
    options.onState({ state: 'connecting', attempt });
    let idle: ReturnType<typeof setTimeout> | null = null;
    let idleFired = false;
    const touch = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        idleFired = true;
        local.abort();
      }, idleTimeout);
    };
    try {
      touch();
      const response = await doFetch(options.url, {
        headers: { Authorization: `Bearer ${options.token}`, Accept: 'text/event-stream' },
        signal: local.signal,
        cache: 'no-store',
      });
      if (!response.ok) {
        const error = await errorFrom(response);
        if (idle) clearTimeout(idle);
        if (response.status === 401) {
          options.onUnauthorized?.(error);
          stopped = true;
          options.onState({ state: 'stopped' });
          return;
        }
        schedule(`${response.status}: ${error.message}`, response.status === 404 || response.status === 503);
        return;
      }
      if (!response.body) throw new Error('no response body');
      const reconnect = connectedOnce;
      connectedOnce = true;
      const openedAt = Date.now();
      options.onState({ state: 'live', since: openedAt });
      options.onOpen?.(reconnect);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        if (Date.now() - openedAt > 5000) attempt = 0; // a healthy connection resets the backoff
        for (const raw of parser.push(decoder.decode(value, { stream: true }))) {
          if (stopped) return;
          options.onEvent(toStreamEvent(raw));
        }
      }
      if (idle) clearTimeout(idle);
      if (Date.now() - openedAt > 5000) attempt = 0;
      schedule('the stream ended');
    } catch (cause) {
      if (idle) clearTimeout(idle);
      if (stopped) return;
      schedule(idleFired ? 'no data for too long' : networkError(cause).message);
    }
  };

  void run();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      controller?.abort();
      options.onState({ state: 'stopped' });
    },
    retryNow: () => {
      if (stopped || !timer) return; // connected or connecting already
      clearTimeout(timer);
      timer = null;
      void run();
    },
  };
}
