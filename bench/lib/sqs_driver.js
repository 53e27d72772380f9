'use strict';
// The load driver of the sqs section (bench/lib/sqs.py): one node process, a fixed number of
// workers each keeping one call outstanding (closed loop), against an SQS-compatible endpoint
// (plain HTTP, below) or against NATS JetStream through the `nats` client.
//
//   node sqs_driver.js '<config JSON>'   (modules from NODE_PATH: the bench's npm cache)
//
// config: {kind: "sqs", endpoint, protocol: "query" | "json", queue} or {kind: "nats", url, stream},
// reset (create the queue; JetStream: afresh),
// and phases: [{op: "send", concurrency, count, seconds, bytes} |
//              {op: "receive", concurrency, count, seconds, batch}]
// Prints one JSON line: {phases: [{op, messages, calls, errors, elapsed_s, per_s, latency_us,
// delete_latency_us, client_cpu_s, ...}]}. A receive phase deletes (acks) what it receives and
// counts a message once its deletion is answered.

const net = require('net');

const cfg = JSON.parse(process.argv[2]);

function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

function summary(values) {
  if (!values.length) return null;
  const v = Float64Array.from(values).sort();
  const at = (q) => v[Math.max(0, Math.min(v.length - 1, Math.ceil((q / 100) * v.length) - 1))];
  return { n: v.length, p50: at(50), p90: at(90), p99: at(99), max: v[v.length - 1] };
}

// SQS over plain keep-alive HTTP/1.1: the request an SDK would send (form-encoded for the query
// protocol, JSON with X-Amz-Target for the JSON protocol; SigV4-shaped headers, checked by
// neither server), and only the fields the loop needs read back. An SDK costs about 1 ms of
// client CPU per call here and node's http module about 0.2 ms, either of which would make the
// client the bottleneck on two cores; this one writes each request in one piece on a socket of
// its own and reads the answer by its Content-Length.
const AUTH = 'AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/sqs/aws4_request, ' +
  'SignedHeaders=content-type;host;x-amz-date, Signature=' + '0'.repeat(64);

class Connection {
  constructor(address, port) {
    this.buf = null;
    this.pending = null;
    this.dead = false;
    this.socket = net.connect({ host: address, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (d) => this.onData(d));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  request(bytes) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  onData(d) {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const head = this.buf.toString('latin1', 0, end);
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (!length) return this.fail(new Error('an answer without Content-Length: ' + head.slice(0, 200)));
    const total = end + 4 + Number(length[1]);
    if (this.buf.length < total) return;
    const body = this.buf.toString('utf8', end + 4, total);
    this.buf = this.buf.length > total ? this.buf.subarray(total) : null;
    if (/\r\nconnection:[ \t]*close/i.test(head)) this.dead = true;
    const { resolve } = this.pending;
    this.pending = null;
    resolve([Number(head.slice(9, 12)), body]);
  }

  fail(e) {
    this.dead = true;
    this.socket.destroy();
    if (this.pending) {
      const { reject } = this.pending;
      this.pending = null;
      reject(e);
    }
  }
}

class Pool {
  constructor(endpoint) {
    const u = new URL(endpoint);
    this.host = u.host;  // sent as Host: sqslite builds its queue URLs from it
    this.address = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname;
    this.port = Number(u.port || 80);
    this.path = u.pathname || '/';
    this.idle = [];
    this.all = [];
  }

  async post(headers, body) {
    let head = 'POST ' + this.path + ' HTTP/1.1\r\nHost: ' + this.host + '\r\nX-Amz-Date: 20240101T000000Z\r\n' +
      'Authorization: ' + AUTH + '\r\n';
    for (const [k, v] of Object.entries(headers)) head += k + ': ' + v + '\r\n';
    const bytes = Buffer.from(head + 'Content-Length: ' + Buffer.byteLength(body) + '\r\n\r\n' + body);
    let c = this.idle.pop();
    while (c && c.dead) c = this.idle.pop();  // closed by the server while idle
    if (!c) {
      c = new Connection(this.address, this.port);
      this.all.push(c);
    }
    const answer = await c.request(bytes);
    if (!c.dead) this.idle.push(c);
    return answer;
  }

  close() {
    for (const c of this.all) {
      c.pending = null;
      c.socket.destroy();
    }
  }
}

function unescapeXml(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
}

function queryProtocol(pool) {
  async function call(action, params) {
    const form = new URLSearchParams({ Action: action, Version: '2012-11-05', ...params }).toString();
    const [status, text] = await pool.post({
      'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }, form);
    if (status !== 200) {
      const code = /<Code>([^<]*)<\/Code>/.exec(text);
      throw new Error(action + ': HTTP ' + status + ' ' + (code ? code[1] : text.slice(0, 200)));
    }
    return text;
  }
  return {
    async createQueue(name) {
      return unescapeXml(/<QueueUrl>([^<]*)<\/QueueUrl>/.exec(await call('CreateQueue', { QueueName: name }))[1]);
    },
    async queueUrl(name) {
      return unescapeXml(/<QueueUrl>([^<]*)<\/QueueUrl>/.exec(await call('GetQueueUrl', { QueueName: name }))[1]);
    },
    async send(url, body) {
      const text = await call('SendMessage', { QueueUrl: url, MessageBody: body });
      if (!/<MessageId>/.test(text)) throw new Error('SendMessage: no MessageId');
    },
    async receive(url, n) {
      const text = await call('ReceiveMessage', { QueueUrl: url, MaxNumberOfMessages: String(n),
        WaitTimeSeconds: '0', VisibilityTimeout: '60' });
      return [...text.matchAll(/<ReceiptHandle>([^<]*)<\/ReceiptHandle>/g)].map((m) => unescapeXml(m[1]));
    },
    async delete(url, receipt) {
      await call('DeleteMessage', { QueueUrl: url, ReceiptHandle: receipt });
    },
    async deleteBatch(url, receipts) {
      const params = { QueueUrl: url };
      receipts.forEach((r, i) => {
        params['DeleteMessageBatchRequestEntry.' + (i + 1) + '.Id'] = String(i);
        params['DeleteMessageBatchRequestEntry.' + (i + 1) + '.ReceiptHandle'] = r;
      });
      const text = await call('DeleteMessageBatch', params);
      if (/<BatchResultErrorEntry>/.test(text)) throw new Error('DeleteMessageBatch: an entry failed');
    },
  };
}

function jsonProtocol(pool) {
  async function call(action, params) {
    const [status, text] = await pool.post({
      'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.' + action },
      JSON.stringify(params));
    if (status !== 200) throw new Error(action + ': HTTP ' + status + ' ' + text.slice(0, 200));
    return text ? JSON.parse(text) : {};
  }
  return {
    async createQueue(name) { return (await call('CreateQueue', { QueueName: name })).QueueUrl; },
    async queueUrl(name) { return (await call('GetQueueUrl', { QueueName: name })).QueueUrl; },
    async send(url, body) {
      if (!(await call('SendMessage', { QueueUrl: url, MessageBody: body })).MessageId) {
        throw new Error('SendMessage: no MessageId');
      }
    },
    async receive(url, n) {
      const r = await call('ReceiveMessage', { QueueUrl: url, MaxNumberOfMessages: n, WaitTimeSeconds: 0,
        VisibilityTimeout: 60 });
      return (r.Messages || []).map((m) => m.ReceiptHandle);
    },
    async delete(url, receipt) { await call('DeleteMessage', { QueueUrl: url, ReceiptHandle: receipt }); },
    async deleteBatch(url, receipts) {
      const r = await call('DeleteMessageBatch', { QueueUrl: url,
        Entries: receipts.map((h, i) => ({ Id: String(i), ReceiptHandle: h })) });
      if (r.Failed && r.Failed.length) throw new Error('DeleteMessageBatch: an entry failed');
    },
  };
}

async function sqsTarget() {
  const pool = new Pool(cfg.endpoint);
  const api = cfg.protocol === 'json' ? jsonProtocol(pool) : queryProtocol(pool);
  // Only the first phase creates the queue: sqslite's CreateQueue empties an existing one.
  const url = cfg.reset ? await api.createQueue(cfg.queue) : await api.queueUrl(cfg.queue);
  return {
    send: (body) => api.send(url, body),
    // Resolves to [received count, the receive's latency, the delete's latency].
    async receive(batch) {
      let t0 = nowUs();
      const receipts = await api.receive(url, batch);
      const received = nowUs() - t0;
      if (!receipts.length) return [0, received, null];
      t0 = nowUs();
      if (batch === 1) await api.delete(url, receipts[0]);
      else await api.deleteBatch(url, receipts);
      return [receipts.length, received, nowUs() - t0];
    },
    close() { pool.close(); },
  };
}

async function natsTarget() {
  const nats = require('nats');
  const nc = await nats.connect({ servers: cfg.url, maxReconnectAttempts: 0 });
  const jsm = await nc.jetstreamManager();
  const subject = cfg.stream + '.q';
  if (cfg.reset) {
    try { await jsm.streams.delete(cfg.stream); } catch (e) { /* none yet */ }
  }
  // Adding a stream or consumer that exists with the same configuration changes nothing.
  await jsm.streams.add({ name: cfg.stream, subjects: [subject], retention: nats.RetentionPolicy.Workqueue,
    storage: nats.StorageType.File });
  await jsm.consumers.add(cfg.stream, { durable_name: 'bench', ack_policy: nats.AckPolicy.Explicit,
    ack_wait: nats.nanos(60000), max_ack_pending: 100000 });
  const js = nc.jetstream();
  return {
    async send(body) {
      await js.publish(subject, body);  // resolves on the stream's PubAck: the message is stored
    },
    async receive(batch) {
      let t0 = nowUs();
      const messages = [];
      // no_wait: what is there now, as ReceiveMessage with WaitTimeSeconds 0 answers.
      for await (const m of js.fetch(cfg.stream, 'bench', { batch, no_wait: true })) messages.push(m);
      const received = nowUs() - t0;
      if (!messages.length) return [0, received, null];
      t0 = nowUs();
      // ackAck waits for the server's confirmation, as a DeleteMessage(Batch) answer does.
      const ok = await Promise.all(messages.map((m) => m.ackAck()));
      if (ok.some((x) => !x)) throw new Error('ack not confirmed');
      return [messages.length, received, nowUs() - t0];
    },
    async close() { await nc.close(); },
  };
}

async function runPhase(target, phase) {
  const deadline = nowUs() + phase.seconds * 1e6;
  const latencies = [], deletes = [];
  let claimed = 0, done = 0, calls = 0, empty = 0, errors = 0, firstError = null, lastAt = 0;
  const body = 'x'.repeat(phase.bytes || 100);
  const cpu0 = process.cpuUsage();
  const t0 = nowUs();
  async function worker() {
    while (nowUs() < deadline && errors < 100) {
      if (phase.op === 'send') {
        if (claimed >= phase.count) return;
        claimed++;
        const t = nowUs();
        try {
          await target.send(body);
          latencies.push(nowUs() - t);
          done++;
          lastAt = nowUs();
        } catch (e) {
          errors++; claimed--; firstError = firstError || String(e && e.message || e);
        }
        calls++;
      } else {
        if (done >= phase.count) return;
        try {
          const [n, receiveUs, deleteUs] = await target.receive(phase.batch);
          // An empty receive only happens once the backlog runs out (a JetStream fetch then
          // waits for its expiry): counted, but kept out of the latencies and the rate.
          if (n) {
            latencies.push(receiveUs);
            deletes.push(deleteUs);
            done += n;
            lastAt = nowUs();
          } else {
            empty++;
          }
        } catch (e) {
          errors++; firstError = firstError || String(e && e.message || e);
        }
        calls++;
      }
    }
  }
  await Promise.all(Array.from({ length: phase.concurrency }, worker));
  // Up to the last message counted when all were (the workers' final empty calls excluded).
  const elapsed = ((done >= phase.count && lastAt ? lastAt : nowUs()) - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return {
    op: phase.op, concurrency: phase.concurrency, batch: phase.batch || null, bytes: phase.bytes || null,
    messages: done, calls, empty_receives: empty, errors, first_error: firstError,
    elapsed_s: Math.round(elapsed * 1000) / 1000, per_s: Math.round(done / elapsed),
    latency_us: summary(latencies), delete_latency_us: summary(deletes),
    client_cpu_s: Math.round((cpu.user + cpu.system) / 1e3) / 1e3,
  };
}

async function main() {
  const target = cfg.kind === 'nats' ? await natsTarget() : await sqsTarget();
  const phases = [];
  for (const phase of cfg.phases) phases.push(await runPhase(target, phase));
  await target.close();
  process.stdout.write(JSON.stringify({ phases }) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + '\n');
  process.exit(1);
});
