import { describe, expect, it } from 'vitest';
import { backoffDelay, connectStream, SseParser, toStreamEvent } from './sse';

describe('SseParser', () => {
  it('parses events separated by blank lines', () => {
    const p = new SseParser();
    const out = p.push('event: fill\ndata: {"a":1}\n\nevent: closed\ndata: {"b":2}\n\n');
    expect(out).toEqual([
      { event: 'fill', data: '{"a":1}', id: undefined },
      { event: 'closed', data: '{"b":2}', id: undefined },
    ]);
  });

  it('keeps a partial event across chunks, even mid-line', () => {
    const p = new SseParser();
    expect(p.push('event: sig')).toEqual([]);
    expect(p.push('nal\ndata: {"x"')).toEqual([]);
    expect(p.push(':1}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'signal', data: '{"x":1}', id: undefined }]);
  });

  it('ignores comments and keep-alives, and events without data', () => {
    const p = new SseParser();
    expect(p.push(':\n\n: keep-alive\n\nevent: lonely\n\n')).toEqual([]);
    expect(p.push('data: ok\n\n')).toEqual([{ event: 'message', data: 'ok', id: undefined }]);
  });

  it('handles CRLF and CR line ends, also split between chunks', () => {
    const p = new SseParser();
    expect(p.push('event: a\r\ndata: 1\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'a', data: '1', id: undefined }]);
    expect(p.push('event: b\rdata: 2\r\r')).toEqual([{ event: 'b', data: '2', id: undefined }]);
  });

  it('joins several data lines and strips exactly one leading space', () => {
    const p = new SseParser();
    expect(p.push('data:  two spaces\ndata:none\n\n')).toEqual([{ event: 'message', data: ' two spaces\nnone', id: undefined }]);
  });

  it('resets the event type after a dispatch', () => {
    const p = new SseParser();
    p.push('event: x\ndata: 1\n\n');
    expect(p.push('data: 2\n\n')[0]?.event).toBe('message');
  });

  it('drops a partial event on reset', () => {
    const p = new SseParser();
    p.push('event: x\ndata: half');
    p.reset();
    expect(p.push('\n\n')).toEqual([]);
  });

  it('reads retry and id fields', () => {
    const p = new SseParser();
    const [e] = p.push('retry: 5000\nid: 7\ndata: z\n\n');
    expect(p.retry).toBe(5000);
    expect(e?.id).toBe('7');
  });
});

describe('toStreamEvent', () => {
  it('parses the engine envelope and its time', () => {
    const e = toStreamEvent({
      event: 'closed',
      data: '{"event":{"type":"closed","data":{"symbol":"MES"}},"time":"2026-03-13T12:28:00Z"}',
    });
    expect(e.kind).toBe('closed');
    expect(e.time).toBe('2026-03-13T12:28:00Z');
  });
  it('survives data that is not JSON', () => {
    expect(toStreamEvent({ event: 'x', data: 'nope' })).toEqual({ kind: 'x', data: null, time: null });
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap, with bounded jitter', () => {
    const mid = () => 0.5;
    expect(backoffDelay(1, 1000, 30000, mid)).toBe(1000);
    expect(backoffDelay(2, 1000, 30000, mid)).toBe(2000);
    expect(backoffDelay(10, 1000, 30000, mid)).toBe(30000);
    expect(backoffDelay(1, 1000, 30000, () => 0)).toBe(750);
    expect(backoffDelay(1, 1000, 30000, () => 0.9999)).toBeLessThanOrEqual(1250);
  });
});

describe('connectStream', () => {
  const body = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(text);
        // split mid-event to exercise the parser across chunks
        controller.enqueue(bytes.slice(0, 7));
        controller.enqueue(bytes.slice(7));
        controller.close();
      },
    });

  it('delivers events, reconnects when the stream ends, and stops on a 401', async () => {
    const calls: string[] = [];
    const states: string[] = [];
    const events: string[] = [];
    const opens: boolean[] = [];
    let unauthorized = 0;
    const answers = [
      () => new Response(body('event: fill\ndata: {"time":"2026-03-09T14:00:00Z"}\n\n: keep-alive\n\n'), { status: 200 }),
      () => new Response(body('event: closed\ndata: {}\n\n'), { status: 200 }),
      () => new Response('{"error":{"code":"unauthorized","message":"wrong bearer token"}}', { status: 401 }),
    ];
    const fetchImpl = (async (url: string, init?: RequestInit) => {
      calls.push(`${url} ${(init?.headers as Record<string, string>).Authorization}`);
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      return next();
    }) as unknown as typeof fetch;
    await new Promise<void>((resolve) => {
      connectStream({
        url: '/api/events',
        token: 't0ken',
        fetchImpl,
        minDelay: 1,
        maxDelay: 2,
        onEvent: (e) => events.push(`${e.kind}@${e.time ?? '-'}`),
        onOpen: (reconnect) => opens.push(reconnect),
        onUnauthorized: () => {
          unauthorized++;
        },
        onState: (s) => {
          states.push(s.state);
          if (s.state === 'stopped') resolve();
        },
      });
    });
    expect(calls).toEqual(['/api/events Bearer t0ken', '/api/events Bearer t0ken', '/api/events Bearer t0ken']);
    expect(events).toEqual(['fill@2026-03-09T14:00:00Z', 'closed@-']);
    expect(opens).toEqual([false, true]);
    expect(unauthorized).toBe(1);
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'connecting', 'live', 'reconnecting', 'connecting', 'stopped']);
  });

  it('waits longer when the engine has no stream (404), and can be told to retry now', async () => {
    const states: string[] = [];
    let n = 0;
    const fetchImpl = (async () => {
      n++;
      return new Response('{"error":{"code":"not_found","message":"no engine"}}', { status: 404 });
    }) as unknown as typeof fetch;
    const handle = connectStream({ url: '/x', token: 't', fetchImpl, onEvent: () => {}, onState: (s) => states.push(s.state) });
    await new Promise((r) => setTimeout(r, 20));
    expect(states.at(-1)).toBe('unavailable');
    expect(n).toBe(1);
    handle.retryNow();
    await new Promise((r) => setTimeout(r, 20));
    expect(n).toBe(2);
    handle.stop();
    expect(states.at(-1)).toBe('stopped');
  });
});
