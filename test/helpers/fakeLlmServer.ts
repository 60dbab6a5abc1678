// A local OpenAI-compatible server for tests: POST /v1/chat/completions answers from a script of
// replies, one per request, and records every request. Loopback only, port chosen by the OS.
// Hostile modes for the reliability suite: any status with headers (429 + Retry-After), a body
// dripped a byte at a time (`dripMs`), an oversized body (`sizeBytes`), and any content
// (prompt injection is just content).
// Also runnable for end-to-end tests (prints its base URL, answers every request with the reply):
//   node --import tsx test/helpers/fakeLlmServer.ts REPLY.json [PORT]
// where REPLY.json holds the message content (the suggestion JSON) the "model" returns.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** Raw body (string) or JSON body; overrides the chat completion built from `content`. */
  body?: string | object;
  /** Message content of a normal chat completion. */
  content?: string | null;
  refusal?: string;
  finishReason?: 'stop' | 'length' | 'content_filter';
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Send the headers, then the body one byte every `dripMs` milliseconds. */
  dripMs?: number;
  /** A 200 whose JSON body is padded to this many bytes (sent in 64 KB chunks). */
  sizeBytes?: number;
}

export interface RecordedRequest {
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface FakeLlmServer {
  /** Base URL to give the client, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  requests: RecordedRequest[];
  script(...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

export function completion(content: string | null, extra: { refusal?: string; finishReason?: string } = {}) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'fake-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: extra.refusal ?? null },
        finish_reason: extra.finishReason ?? 'stop',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  };
}

/** `repeat`: once the script is used up, keep answering with this reply (end-to-end runs). */
export async function startFakeLlm(options: { port?: number; repeat?: ScriptedReply } = {}): Promise<FakeLlmServer> {
  const queue: ScriptedReply[] = [];
  const requests: RecordedRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      requests.push({ headers: req.headers, body });
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const reply = queue.shift() ?? options.repeat;
      if (!reply) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-should-retry': 'false' }).end(JSON.stringify({ error: { message: 'no scripted reply left' } }));
        return;
      }
      if (reply.hang) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (reply.sizeBytes !== undefined) {
        const head = Buffer.from('{"id":"big","object":"chat.completion","pad":"');
        const tail = Buffer.from('"}');
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        let left = Math.max(0, reply.sizeBytes - head.length - tail.length);
        res.write(head);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end(tail);
        };
        res.on('error', () => {});
        pump();
        return;
      }
      const payload =
        reply.body !== undefined
          ? typeof reply.body === 'string'
            ? reply.body
            : JSON.stringify(reply.body)
          : JSON.stringify(completion(reply.content ?? null, { refusal: reply.refusal, finishReason: reply.finishReason }));
      if (reply.dripMs !== undefined) {
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        hanging.add(res);
        let i = 0;
        const bytes = Buffer.from(payload);
        const timer = setInterval(() => {
          if (res.destroyed || i >= bytes.length) {
            clearInterval(timer);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(bytes.subarray(i, i + 1));
          i++;
        }, reply.dripMs);
        res.on('close', () => {
          clearInterval(timer);
          hanging.delete(res);
        });
        return;
      }
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers }).end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...replies) => {
      queue.length = 0;
      requests.length = 0;
      queue.push(...replies);
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (require.main === module) {
  const [replyFile, port] = process.argv.slice(2);
  if (!replyFile) {
    process.stderr.write('usage: node --import tsx test/helpers/fakeLlmServer.ts REPLY.json [PORT]\n');
    process.exit(2);
  }
  const content = require('node:fs').readFileSync(replyFile, 'utf8') as string;
  startFakeLlm({ port: port ? Number(port) : 0, repeat: { content } }).then((s) => {
    process.stdout.write(`${s.url}\n`);
    const stop = () => s.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
