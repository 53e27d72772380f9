// lambent built-in Node.js runtime bootstrap (Lambda Runtime API client).
//
// A CommonJS script (node starts one ~5 ms sooner than an ES module); ES-module handlers are
// loaded with import(), CommonJS ones with require(). No dependencies beyond Node's standard
// library and response_stream.cjs, its sibling.
//
// Run as:  node bootstrap.cjs          (Node 18+)
// with the working directory set to LAMBDA_TASK_ROOT and the environment Lambda sets:
//   AWS_LAMBDA_RUNTIME_API   host:port of the Runtime API (required)
//   _HANDLER                 "file.function"; the file may be a path ("src/app.handler") and the
//                            function a nested property ("app.handlers.main")
//   LAMBDA_TASK_ROOT         the code directory (default: the working directory)
//   AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
//   AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME   copied into the context object
//
// Behaviour follows AWS's Node.js runtime client (aws-lambda-nodejs-runtime-interface-client):
// - The handler file is looked up as AWS does: the extensionless path, then .js (CommonJS unless
//   the nearest package.json says "type": "module", then it is imported as ESM), .mjs (ESM),
//   .cjs (CommonJS), and finally a Node module resolution from LAMBDA_TASK_ROOT.
// - A handler returning a promise (async) completes when it settles. Otherwise the invocation
//   completes when callback / context.done / succeed / fail is called (with
//   context.callbackWaitsForEmptyEventLoop = true, the default, only once the event loop is
//   empty), or with a null result when the event loop empties without either.
// - Init failures (Runtime.ImportModuleError, Runtime.HandlerNotFound, Runtime.UserCodeSyntaxError,
//   Runtime.MalformedHandlerName, or whatever the module throws) are POSTed to /runtime/init/error
//   and the process exits with status 129. Handler errors are POSTed to
//   /runtime/invocation/{id}/error as {"errorType","errorMessage","trace"} with the
//   Lambda-Runtime-Function-Error-Type header. An uncaught exception (exit 129) or unhandled
//   promise rejection (Runtime.UnhandledPromiseRejection, exit 128) during an invocation is
//   reported as that invocation's error, then the process exits.
// - Response streaming (response_stream.cjs): the global `awslambda` (unless
//   AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA is 1/true) offers streamifyResponse(handler,
//   {highWaterMark}) and HttpResponseStream.from(stream, metadata). A streamified handler is
//   called as handler(event, responseStream, context); its writes reach the Runtime API as they
//   happen, as the chunks of a chunked POST (response mode "streaming"). It must return a
//   promise; the invocation is complete once that promise has settled AND the stream has ended
//   (a handler resolving without end() runs until end() is called or the function times out, as
//   on AWS). A thrown or rejected error, or responseStream.destroy(err), before the stream
//   ended is reported in the trailers Lambda-Runtime-Function-Error-Type / -Body (base64 of the
//   error document). Unlike AWS's client, the HttpResponseStream prelude is also sent when the
//   handler only calls end().
//
// Output: console.log/info/warn/error/debug/trace/fatal write
// "<ISO time>\t<request id>\t<LEVEL>\t<message>\n" to stdout (request id "undefined" during
// init, as on AWS). Errors are logged as "... ERROR\tInvoke Error \t{json}". Before a result is
// posted, pending stdout/stderr writes are drained so the pipe reader sees the output first.
// With AWS_LAMBDA_LOG_FORMAT=JSON (LoggingConfig LogFormat JSON) each call is one JSON line, as
// AWS's client writes it: {"timestamp","level","requestId","message"} (a lone argument kept as
// a value, errors as {errorType, errorMessage, stackTrace}); levels below AWS_LAMBDA_LOG_LEVEL
// are dropped (console.fatal never is), and errors are logged as the error alone.
//
// The Runtime API is spoken over ONE persistent keep-alive TCP connection with a small built-in
// HTTP/1.1 client (Content-Length, chunked and close-delimited responses; chunked request bodies
// with trailers for streamed responses; reconnects when the daemon closes the connection). The
// idle socket is unref'd so it never keeps the event loop alive (callbackWaitsForEmptyEventLoop
// depends on that).

'use strict';

const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');

const env = process.env;
const API = '/2018-06-01/runtime';

// ------------------------------------------------------------------------------------------------
// Errors (names as AWS's runtime: "Runtime.<Class>")
// ------------------------------------------------------------------------------------------------

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class MalformedStreamingHandler extends Error {}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
for (const cls of [ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError,
  MalformedStreamingHandler, UnhandledPromiseRejection]) {
  cls.prototype.name = `Runtime.${cls.name}`;
}

function isErrorLike(e) {
  return e && typeof e.name === 'string' && typeof e.message === 'string' && typeof e.stack === 'string';
}

// The body posted to /error and /init/error.
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: String(error.name).replace(/\x7F/g, '%7F'),
        errorMessage: String(error.message).replace(/\x7F/g, '%7F'),
        trace: String(error.stack).replace(/\x7F/g, '%7F').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

// What gets logged: "\t" + JSON with the error's enumerable properties and its stack as lines.
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => {
      if (v instanceof Error) {
        const ret = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
        if (typeof v.stack === 'string') ret.stack = v.stack.split('\n');
        return ret;
      }
      return v;
    });
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ------------------------------------------------------------------------------------------------
// console: "<time>\t<request id>\t<LEVEL>\t<message>" on stdout
// ------------------------------------------------------------------------------------------------

let currentRequestId; // undefined until the first invocation, as on AWS

// Points console's methods at `make(level)`'s writers, as Lambda's node runtime does.
function installConsole(make) {
  console.trace = make('TRACE');
  console.debug = make('DEBUG');
  console.info = make('INFO');
  console.log = console.info;
  console.warn = make('WARN');
  console.error = make('ERROR');
  console.fatal = make('FATAL');
}

function patchConsole() {
  const stdout = process.stdout;
  const make = (level) => function (...args) {
    stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`);
  };
  installConsole(make);
}

let jsonLogs = false;

// An Error inside a logged value, as a JSON field.
function errorFields(_k, v) {
  if (v instanceof Error) {
    return Object.assign({
      errorType: v?.constructor?.name ?? 'UnknownError',
      errorMessage: v.message,
      stackTrace: typeof v.stack === 'string' ? v.stack.split('\n') : v.stack,
    }, v);
  }
  return v;
}

function jsonLine(level, args) {
  const line = { timestamp: new Date().toISOString(), level, requestId: currentRequestId };
  if (args.length === 1) {
    line.message = args[0];
    try {
      return JSON.stringify(line, errorFields);
    } catch (_) { // a cycle, a BigInt: the value as console.log would print it
      line.message = util.format(args[0]);
      return JSON.stringify(line);
    }
  }
  line.message = util.format(...args);
  const err = args.find((a) => a instanceof Error);
  if (err) {
    line.errorType = err?.constructor?.name ?? 'UnknownError';
    line.errorMessage = err.message;
    line.stackTrace = typeof err.stack === 'string' ? err.stack.split('\n') : [];
  }
  return JSON.stringify(line);
}

// LoggingConfig LogFormat JSON: decided once the function's environment is known, so the
// filtering costs a call nothing (a filtered level is a no-op function).
function patchConsoleJson() {
  jsonLogs = true;
  const stdout = process.stdout;
  const order = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
  const least = Math.max(0, order.indexOf((env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()));
  const nop = () => {};
  const make = (level) => (order.indexOf(level) < least && level !== 'FATAL' ? nop : function (...args) {
    stdout.write(jsonLine(level, args).replace(/\n/g, '\r') + '\n');
  });
  installConsole(make);
}

// An error the runtime reports: text "<what>\t{json}", JSON the error alone.
function logError(what, err) {
  if (jsonLogs) {
    console.error(err instanceof Error ? err : toRapidResponse(err));
  } else {
    console.error(what, toFormatted(err));
  }
}

// Calls fn once everything already written to stdout/stderr has reached the pipes.
function afterOutputDrained(fn) {
  const out = process.stdout;
  const err = process.stderr;
  if (out.writableLength) {
    out.write('', () => afterOutputDrained(fn));
  } else if (err.writableLength) {
    err.write('', () => afterOutputDrained(fn));
  } else {
    fn();
  }
}

// ------------------------------------------------------------------------------------------------
// Runtime API client: one keep-alive connection, requests served one at a time in order.
// ------------------------------------------------------------------------------------------------

const HEAD = 0, LENGTH = 1, CHUNK_SIZE = 2, CHUNK_DATA = 3, CHUNK_CRLF = 4, TRAILERS = 5, UNTIL_CLOSE = 6;
const CRLFCRLF = Buffer.from('\r\n\r\n');

// A request body sent in HTTP/1.1 chunks as it is produced; the terminal chunk may carry trailers.
// The head goes out with the first chunk (or the terminal one), so the Content-Type can change
// until then. Output produced before the client starts the request waits here, in order. Each
// send() calls back once the socket can take more (its 'drain'): the producer's backpressure.
class ChunkedUpload {
  constructor() {
    this.contentType = 'application/octet-stream';
    this.sock = null;
    this.head = null;
    this.headSent = false;
    this.ended = false; // the terminal chunk is written
    this.error = null; // the request failed or was answered early: nothing more can be sent
    this.waiting = []; // operations issued before attach()
    this.drainCallback = null;
    this.onDrain = () => {
      const cb = this.drainCallback;
      this.drainCallback = null;
      if (cb) cb(this.error || undefined);
    };
  }

  // Called by the client once the request owns a connection; head ends with the header lines.
  attach(sock, head) {
    this.sock = sock;
    this.head = head;
    const ops = this.waiting;
    this.waiting = [];
    for (const op of ops) op();
  }

  abort(err) {
    if (this.error) return;
    this.error = err;
    this.onDrain();
    const ops = this.waiting;
    this.waiting = [];
    for (const op of ops) op();
  }

  send(buffers, cb) {
    if (this.error) return cb(this.error);
    if (this.sock === null) return void this.waiting.push(() => this.send(buffers, cb));
    const sock = this.sock;
    let ok = true;
    sock.cork(); // head and frames leave in one writev
    this._sendHead();
    for (const b of buffers) {
      if (b.length === 0) continue; // a zero-length chunk would end the body
      sock.write(`${b.length.toString(16)}\r\n`);
      ok = sock.write(b) && ok;
      ok = sock.write('\r\n') && ok;
    }
    sock.uncork();
    if (ok) return cb();
    this.drainCallback = cb;
    sock.once('drain', this.onDrain);
  }

  // trailers: header lines, each ending with CRLF, or ''.
  finish(trailers, cb) {
    if (this.ended) return cb();
    if (this.error) return cb(this.error);
    if (this.sock === null) return void this.waiting.push(() => this.finish(trailers, cb));
    this.sock.cork();
    this._sendHead();
    this.sock.write(`0\r\n${trailers}\r\n`);
    this.sock.uncork();
    this.ended = true;
    cb();
  }

  _sendHead() {
    if (this.headSent) return;
    this.headSent = true;
    this.sock.write(`${this.head}Content-Type: ${this.contentType}\r\n\r\n`);
  }
}

class RuntimeClient {
  constructor(address) {
    const i = address.lastIndexOf(':');
    let host = i >= 0 ? address.slice(0, i) : address;
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    this.host = host || '127.0.0.1';
    this.port = i >= 0 ? Number(address.slice(i + 1)) : 80;
    this.hostLine = `Host: ${address}\r\n`;
    this.sock = null;
    this.cur = null;
    this.queue = [];
  }

  // Resolves to {status, headers (lower-case names), body: Buffer}. body may be a ChunkedUpload:
  // the promise then resolves when the daemon answers, normally after the terminal chunk.
  request(method, urlPath, body, extraHeaders) {
    return new Promise((resolve, reject) => {
      const req = { method, urlPath, body, extraHeaders, resolve, reject, retried: false };
      if (this.cur) this.queue.push(req);
      else this._start(req);
    });
  }

  _connect() {
    const sock = net.connect({ host: this.host, port: this.port });
    sock.setNoDelay(true);
    sock.on('data', (chunk) => { if (sock === this.sock) this._onData(chunk); });
    sock.on('end', () => this._onClose(sock, null));
    sock.on('error', (err) => this._onClose(sock, err));
    sock.on('close', () => this._onClose(sock, null));
    this.sock = sock;
    return sock;
  }

  _start(req) {
    this.cur = req;
    let sock = this.sock;
    req.reused = sock !== null;
    req.gotData = false;
    if (sock === null) sock = this._connect();
    else sock.ref();
    this.state = HEAD;
    this.headBuf = null;
    this.parts = [];
    this.size = 0;
    let head = `${req.method} ${req.urlPath} HTTP/1.1\r\n${this.hostLine}${req.extraHeaders || ''}`;
    const body = req.body;
    if (body === undefined || body === null) {
      sock.write(head + '\r\n');
    } else if (body instanceof ChunkedUpload) {
      body.attach(sock, head);
    } else if (typeof body === 'string' && body.length < 16384) {
      sock.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    } else {
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      sock.cork();
      sock.write(`${head}Content-Length: ${buf.length}\r\n\r\n`);
      sock.write(buf);
      sock.uncork();
    }
  }

  _fail(err) {
    const req = this.cur;
    this.cur = null;
    if (req.body instanceof ChunkedUpload) req.body.abort(err);
    req.reject(err);
    const next = this.queue.shift();
    if (next) this._start(next);
  }

  _onClose(sock, err) {
    if (sock !== this.sock) return;
    this.sock = null;
    sock.destroy();
    const req = this.cur;
    if (!req) return;
    if (this.state === UNTIL_CLOSE) {
      this._finish();
      return;
    }
    if (req.reused && !req.gotData && !req.retried &&
        !(req.body instanceof ChunkedUpload && req.body.headSent)) {
      // The daemon closed an idle keep-alive connection: retry once on a fresh one.
      req.retried = true;
      this._start(req);
      return;
    }
    this._fail(err || new Error('Runtime API closed the connection'));
  }

  _protocolError(msg) {
    const sock = this.sock;
    this.sock = null;
    if (sock) sock.destroy();
    this._fail(new Error(`Runtime API protocol error: ${msg}`));
  }

  _onData(chunk) {
    const req = this.cur;
    if (!req) return; // nothing asked: ignore
    req.gotData = true;
    while (chunk !== null && chunk.length > 0 && this.cur === req) {
      switch (this.state) {
        case HEAD: {
          const buf = this.headBuf === null ? chunk : Buffer.concat([this.headBuf, chunk]);
          const end = buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (buf.length > 4 * 1024 * 1024) return this._protocolError('response head too large');
            this.headBuf = buf;
            return;
          }
          this.headBuf = null;
          chunk = buf.subarray(end + 4);
          if (!this._parseHead(buf.toString('utf8', 0, end))) return;
          break;
        }
        case LENGTH: {
          const take = Math.min(this.remaining, chunk.length);
          this.parts.push(take === chunk.length ? chunk : chunk.subarray(0, take));
          this.size += take;
          this.remaining -= take;
          chunk = null;
          if (this.remaining === 0) this._finish();
          break;
        }
        case CHUNK_SIZE:
        case TRAILERS: {
          const buf = this.headBuf === null ? chunk : Buffer.concat([this.headBuf, chunk]);
          const nl = buf.indexOf(10);
          if (nl < 0) {
            if (buf.length > 65536) return this._protocolError('chunk size line too long');
            this.headBuf = buf;
            return;
          }
          this.headBuf = null;
          const line = buf.toString('latin1', 0, nl).trim();
          chunk = buf.subarray(nl + 1);
          if (this.state === TRAILERS) {
            if (line === '') this._finish();
          } else {
            const n = parseInt(line.split(';')[0], 16);
            if (Number.isNaN(n)) return this._protocolError('bad chunk size');
            if (n === 0) this.state = TRAILERS;
            else { this.remaining = n; this.state = CHUNK_DATA; }
          }
          break;
        }
        case CHUNK_DATA: {
          const take = Math.min(this.remaining, chunk.length);
          this.parts.push(chunk.subarray(0, take));
          this.size += take;
          this.remaining -= take;
          chunk = chunk.subarray(take);
          if (this.remaining === 0) { this.state = CHUNK_CRLF; this.remaining = 2; }
          break;
        }
        case CHUNK_CRLF: {
          const take = Math.min(this.remaining, chunk.length);
          this.remaining -= take;
          chunk = chunk.subarray(take);
          if (this.remaining === 0) this.state = CHUNK_SIZE;
          break;
        }
        case UNTIL_CLOSE:
          this.parts.push(chunk);
          this.size += chunk.length;
          chunk = null;
          break;
      }
    }
  }

  _parseHead(text) {
    const lines = text.split('\r\n');
    const m = /^HTTP\/(\d)\.(\d) (\d{3})/.exec(lines[0]);
    if (!m) { this._protocolError(`bad status line ${JSON.stringify(lines[0].slice(0, 200))}`); return false; }
    const status = Number(m[3]);
    if (status >= 100 && status < 200 && status !== 101) return true; // interim: stay in HEAD
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const c = line.indexOf(':');
      if (c <= 0) continue;
      const name = line.slice(0, c).trim().toLowerCase();
      const value = line.slice(c + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    this.status = status;
    this.headers = headers;
    const connection = (headers.connection || '').toLowerCase();
    this.closeAfter = connection.includes('close') ||
      (m[1] === '1' && m[2] === '0' && !connection.includes('keep-alive'));
    const te = headers['transfer-encoding'];
    if (te !== undefined && te.toLowerCase().includes('chunked')) {
      this.state = CHUNK_SIZE;
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (!Number.isInteger(n) || n < 0) { this._protocolError('bad Content-Length'); return false; }
      this.remaining = n;
      this.state = LENGTH;
      if (n === 0) this._finish();
    } else if (status === 204 || status === 304) {
      this._finish();
    } else {
      this.state = UNTIL_CLOSE;
      this.closeAfter = true;
    }
    return true;
  }

  _finish() {
    const req = this.cur;
    this.cur = null;
    const parts = this.parts;
    const body = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.size);
    this.parts = [];
    const res = { status: this.status, headers: this.headers, body };
    if (req.body instanceof ChunkedUpload && !req.body.ended) {
      // Answered before the body ended (e.g. over a size cap): the rest of the body would be
      // read as the next request, so this connection is done.
      this.closeAfter = true;
      req.body.abort(new Error(`the Runtime API answered ${this.status} before the response stream ended`));
    }
    if (this.closeAfter && this.sock) {
      const sock = this.sock;
      this.sock = null;
      sock.destroy();
    }
    const next = this.queue.shift();
    if (next) this._start(next);
    else if (this.sock) this.sock.unref(); // an idle connection must not keep the loop alive
    req.resolve(res);
  }
}

// ------------------------------------------------------------------------------------------------
// Handler loading (as AWS's UserFunction.js)
// ------------------------------------------------------------------------------------------------

function hasPackageJsonTypeModule(folder) {
  // Nearest package.json decides; node_modules boundaries and the root stop the search.
  for (;;) {
    if (folder.endsWith('/node_modules')) return false;
    const pj = path.join(folder, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(pj, 'utf8'));
        return Boolean(pkg) && pkg.type === 'module';
      } catch (e) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
        return false;
      }
    }
    const parent = path.dirname(folder);
    if (parent === folder) return false;
    folder = parent;
  }
}

function tryRequireFile(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function tryImportFile(file) {
  return fs.existsSync(file) ? import(require('node:url').pathToFileURL(file).href) : undefined;
}

async function loadUserModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequireFile(base);
  if (extensionless) return extensionless;
  const jsIsModule = fs.existsSync(base + '.js') && hasPackageJsonTypeModule(path.dirname(base + '.js'));
  if (!jsIsModule) {
    const loaded = tryRequireFile(base + '.js');
    if (loaded) return loaded;
  }
  const loaded = (jsIsModule && (await tryImportFile(base + '.js'))) ||
    (await tryImportFile(base + '.mjs')) ||
    tryRequireFile(base + '.cjs');
  if (loaded) return loaded;
  // Not a file in the code directory: a package (e.g. in node_modules) — Node module resolution.
  return require(require.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] }));
}

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName("'../' not allowed in handler name. Relative paths are not allowed.");
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const m = /^([^.]*)\.(.*)$/.exec(handlerString);
  if (!m || !m[1] || !m[2]) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, handlerPath] = m;

  let userModule;
  try {
    userModule = await loadUserModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) throw new ImportModuleError(e);
    throw e;
  }
  const fn = handlerPath.split('.').reduce((obj, key) => (obj ? obj[key] : undefined), userModule);
  if (!fn) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  const mode = fn[HANDLER_STREAMING];
  if (mode && mode !== STREAM_RESPONSE) {
    throw new MalformedStreamingHandler('Only response streaming is supported.');
  }
  return fn;
}

// ------------------------------------------------------------------------------------------------
// Response streaming: the `awslambda` global, which the function's code may use as it loads
// ------------------------------------------------------------------------------------------------

// The same symbols as AWS's runtime, so handlers marked by other tooling are recognised too.
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

class HttpResponseStream {
  // The body then starts with the JSON metadata ({statusCode, headers, cookies}) and 8 NUL bytes,
  // which the front turns into the HTTP status line and headers of a function URL's response.
  static from(responseStream, metadata) {
    responseStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const prelude = Buffer.concat([Buffer.from(JSON.stringify(metadata)), Buffer.alloc(8)]);
    responseStream._onBeforeFirstWrite = (write) => write(prelude);
    return responseStream;
  }
}

function installAwsLambdaGlobal() {
  const off = env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  globalThis.awslambda = {
    ...globalThis.awslambda,
    streamifyResponse(fn, options) {
      fn[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        fn[HANDLER_HIGH_WATER_MARK] = Math.floor(options.highWaterMark);
      }
      return fn;
    },
    HttpResponseStream,
  };
}

// ------------------------------------------------------------------------------------------------
// Invocation loop
// ------------------------------------------------------------------------------------------------

const client = new RuntimeClient(env.AWS_LAMBDA_RUNTIME_API || '');
const NEXT_PATH = `${API}/invocation/next`;
const JSON_HEADERS = 'Content-Type: application/json\r\n';

let handler = null;
// For a handler marked by awslambda.streamifyResponse: runs an invocation (response_stream.cjs).
let streamInvocation = null;
let current = null; // the invocation in progress: {id, idPath, reported}
let beforeExitListener = null;

function fatal(message) {
  process.stderr.write(`lambent bootstrap: ${message}\n`);
  process.exit(1);
}

function headerValue(value) {
  return String(value === undefined ? '' : value).replace(/[^\x20-\x7E]/g, '');
}

function errorHeaders(body) {
  return `${JSON_HEADERS}Lambda-Runtime-Function-Error-Type: ${headerValue(body.errorType)}\r\n`;
}

function post(urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    afterOutputDrained(() => client.request('POST', urlPath, body, headers).then(resolve, reject));
  });
}

function postInvocationError(inv, err) {
  inv.reported = true;
  const body = toRapidResponse(err);
  return post(`${API}/invocation/${inv.idPath}/error`, JSON.stringify(body), errorHeaders(body));
}

function postInitError(err) {
  const body = toRapidResponse(err);
  return post(`${API}/init/error`, JSON.stringify(body), errorHeaders(body));
}

function posted() {
  current = null;
  nextInvocation();
}

function postFailed(err) {
  fatal(`posting to the Runtime API failed: ${err && err.message}`);
}

function nextInvocation() {
  client.request('GET', NEXT_PATH).then(handleInvocation, (err) => {
    fatal(`GET ${NEXT_PATH} failed: ${err && err.message}`);
  });
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (e) {
    throw new Error(`Cannot parse ${name} as JSON: ${e.message}`);
  }
}

function handleInvocation(res) {
  if (res.status !== 200) {
    fatal(`GET ${NEXT_PATH} returned ${res.status}: ${res.body.toString('utf8', 0, 500)}`);
  }
  const h = res.headers;
  const id = h['lambda-runtime-aws-request-id'];
  currentRequestId = id;
  const trace = h['lambda-runtime-trace-id'];
  if (trace !== undefined) env._X_AMZN_TRACE_ID = trace;
  else delete env._X_AMZN_TRACE_ID;

  const idPath = encodeURIComponent(id === undefined ? '' : id);
  // settle(err), for a streamed invocation only, ends it with err in its trailers.
  const inv = { id, idPath, reported: false, settle: null };
  current = inv;
  if (streamInvocation !== null) {
    beforeExitListener = null; // the open request keeps the event loop alive meanwhile
    return void streamInvocation(inv, h, res.body);
  }

  // --- completion (CallbackContext.js) ---
  const complete = (result) => {
    if (inv.reported) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (_) {
      postError(new Error('Unable to stringify response body'));
      return;
    }
    inv.reported = true;
    post(`${API}/invocation/${inv.idPath}/response`, body === undefined ? 'null' : body, JSON_HEADERS)
      .then(posted, postFailed);
  };
  const postError = (err) => {
    if (inv.reported) return;
    logError('Invoke Error', err);
    postInvocationError(inv, err).then(posted, postFailed);
  };

  let waitForEmptyEventLoop = true;
  let finished = false;
  const once = (fn) => function (...args) {
    if (finished) return;
    fn(...args);
    finished = true;
  };
  const callback = once((err, result) => {
    beforeExitListener = null;
    if (err !== undefined && err !== null) {
      postError(err);
    } else if (!waitForEmptyEventLoop) {
      complete(result);
    } else {
      beforeExitListener = () => setImmediate(() => complete(result));
    }
  });
  const done = (err, result) => {
    beforeExitListener = null;
    if (err !== undefined && err !== null) postError(err);
    else complete(result);
  };
  const succeed = once((result) => done(null, result));
  const fail = once((err) => done(err === undefined || err === null ? 'handled' : err, null));

  // The event loop emptied without the handler finishing: respond null (as AWS).
  beforeExitListener = () => complete(null);

  try {
    const deadline = Number(h['lambda-runtime-deadline-ms']);
    const context = {
      get callbackWaitsForEmptyEventLoop() { return waitForEmptyEventLoop; },
      set callbackWaitsForEmptyEventLoop(value) { waitForEmptyEventLoop = value; },
      succeed,
      fail,
      done: once(done),
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseJsonHeader(h['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseJsonHeader(h['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
      awsRequestId: id,
      getRemainingTimeInMillis() { return deadline - Date.now(); },
    };
    const text = res.body.toString('utf8');
    const event = text.trim() === '' ? {} : JSON.parse(text);
    const result = handler(event, context, callback);
    if (result && typeof result.then === 'function') {
      result.then(context.succeed, context.fail).catch(context.fail);
    }
  } catch (err) {
    callback(err);
  }
}

// ------------------------------------------------------------------------------------------------
// Process-level error handling and start-up
// ------------------------------------------------------------------------------------------------

function crash(err, code) {
  if (handler === null) {
    postInitError(err).finally(() => process.exit(code));
  } else if (current !== null && !current.reported) {
    // A streamed invocation reports in its trailers: its request holds the connection.
    const reported = current.settle !== null ? current.settle(err) : postInvocationError(current, err);
    reported.finally(() => process.exit(code));
  } else {
    process.exit(code);
  }
}

process.on('uncaughtException', (err) => {
  logError('Uncaught Exception', err);
  crash(err, 129);
});

process.on('unhandledRejection', (reason, promise) => {
  let text;
  try { text = reason?.toString(); } catch (_) { text = String(typeof reason); }
  const err = new UnhandledPromiseRejection(text, promise);
  logError('Unhandled Promise Rejection', err);
  crash(err, 128);
});

process.on('beforeExit', () => {
  const listener = beforeExitListener;
  beforeExitListener = null;
  if (listener) listener();
});

patchConsole();
if (!env.AWS_LAMBDA_RUNTIME_API) {
  fatal('AWS_LAMBDA_RUNTIME_API is not set');
}

// In an environment lambent started before it had a function (LAMBENT_AWAIT_ASSIGNMENT=1),
// waits for one: the daemon answers once the function's code is at LAMBDA_TASK_ROOT, with the
// function's environment variables. Node itself and this client are loaded by then; the
// function's code only after.
function awaitAssignment() {
  if (env.LAMBENT_AWAIT_ASSIGNMENT !== '1') return Promise.resolve();
  return client.request('GET', '/lambent/v1/runtime/assignment').then((res) => {
    if (res.status !== 200) fatal(`no function assigned (${res.status}): ${res.body.toString('utf8', 0, 500)}`);
    delete env.LAMBENT_AWAIT_ASSIGNMENT;
    Object.assign(env, JSON.parse(res.body.toString('utf8')).Environment);
    process.chdir(env.LAMBDA_TASK_ROOT || '/var/task');
  }, (err) => fatal(`waiting for a function failed: ${err && err.message}`));
}

awaitAssignment().then(() => {
  if ((env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON') patchConsoleJson();
  installAwsLambdaGlobal(); // before the function's code, which may call it at load time
  return loadHandler(env.LAMBDA_TASK_ROOT || process.cwd(), env._HANDLER || '');
}).then(
  (loaded) => {
    handler = loaded;
    if (loaded[HANDLER_STREAMING] === STREAM_RESPONSE) {
      const mark = loaded[HANDLER_HIGH_WATER_MARK];
      const highWaterMark = Number.isSafeInteger(mark) && mark >= 0 ? mark : undefined;
      // Only a streamified function loads response streaming, and during init, not at its
      // first invocation: a buffered function's cold start neither reads nor parses it.
      streamInvocation = require('./response_stream.cjs')({
        client, API, ChunkedUpload, handler, highWaterMark, posted,
        parseJsonHeader, toRapidResponse, toFormatted, headerValue, afterOutputDrained,
      });
    }
    nextInvocation();
  },
  (err) => {
    logError('Uncaught Exception', err);
    postInitError(err).finally(() => process.exit(129));
  });
