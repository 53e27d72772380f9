// Response streaming for lambent's Node.js runtime (bootstrap.cjs): the invocation of a
// streamified handler, whose writes reach the Runtime API as the chunks of one POST (response mode
// "streaming"), and the Writable it writes to. bootstrap.cjs describes what a handler sees, and
// keeps the `awslambda` global that marks such handlers: the function's code needs it as it loads.
//
// bootstrap.cjs requires this file only once it has loaded a streamified handler, so a buffered
// function's cold start neither reads nor parses it.

'use strict';

const { Writable } = require('node:stream');

const env = process.env;

class InvalidStreamingOperation extends Error {}
InvalidStreamingOperation.prototype.name = `Runtime.${InvalidStreamingOperation.name}`;

const STREAM_HEADERS = 'Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n' +
  'Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n';

// Returns streamInvocation(inv, headers, payload) for the function's handler: it sets
// inv.settle (for a crash), and once the invocation is over marks inv.reported and calls
// runtime.posted(). runtime: what it uses of the bootstrap — {client, API, ChunkedUpload,
// handler, highWaterMark (undefined: the Writable's default), posted, parseJsonHeader,
// toRapidResponse, toFormatted, headerValue, afterOutputDrained}.
module.exports = function streamInvoker(runtime) {
  const ResponseStream = defineResponseStream(runtime);
  return (inv, h, payload) => streamInvocation(runtime, ResponseStream, inv, h, payload);
};

// As AWS's StreamingInvokeProcessor: the invocation is over once the handler's promise has
// settled and the daemon has answered the streamed response (which it does after the terminal
// chunk); only then is the next invocation fetched.
function streamInvocation(runtime, ResponseStream, inv, h, payload) {
  const { client, API, ChunkedUpload, handler, highWaterMark, posted } = runtime;
  const { parseJsonHeader, toFormatted } = runtime;
  const upload = new ChunkedUpload();
  const urlPath = `${API}/invocation/${inv.idPath}/response`;
  // A failed request needs no handling here: the next request reconnects.
  const answered = client.request('POST', urlPath, upload, STREAM_HEADERS).then(() => {}, () => {});
  const stream = new ResponseStream(upload, highWaterMark);
  const report = (err) => {
    if (err !== stream._reportedError) console.error('Invoke Error', toFormatted(err));
    stream.fail(err);
  };
  const finish = () => answered.then(() => {
    inv.reported = true;
    posted();
  });
  inv.settle = (err) => {
    stream.fail(err);
    return answered;
  };

  let result;
  try {
    const deadline = Number(h['lambda-runtime-deadline-ms']);
    const context = {
      callbackWaitsForEmptyEventLoop: true, // no effect on a streamed invocation, as on AWS
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseJsonHeader(h['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseJsonHeader(h['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
      awsRequestId: inv.id,
      getRemainingTimeInMillis() { return deadline - Date.now(); },
    };
    const text = payload.toString('utf8');
    result = handler(text.trim() === '' ? {} : JSON.parse(text), stream, context);
  } catch (err) {
    report(err);
    return void finish();
  }
  if (!result || typeof result.then !== 'function') {
    report(new Error('Streaming does not support non-async handlers.'));
    return void finish();
  }
  result.then((value) => {
    if (value !== undefined) console.warn('Streaming handlers ignore return values.');
    return answered.then(() => {
      if (!stream.writableFinished && stream._reportedError === null) {
        report(new Error('Response stream is not finished.'));
      }
    });
  }, report).then(finish);
}

function errorTrailers({ toRapidResponse, headerValue }, err) {
  const body = toRapidResponse(err);
  return `Lambda-Runtime-Function-Error-Type: ${headerValue(body.errorType)}\r\n` +
    `Lambda-Runtime-Function-Error-Body: ${Buffer.from(JSON.stringify(body)).toString('base64')}\r\n`;
}

function defineResponseStream(runtime) {
  const { afterOutputDrained, toFormatted } = runtime;
  // A Writable over a ChunkedUpload. Each write becomes a chunk as soon as the socket takes it;
  // the Writable's buffer (highWaterMark) and the socket's 'drain' give the handler backpressure.
  return class extends Writable {
    constructor(upload, highWaterMark) {
      super(highWaterMark === undefined ? undefined : { highWaterMark });
      this._upload = upload;
      this._writeCalled = false;
      this._preludeSent = false;
      this._failure = null; // what the terminal chunk's trailers report
      this._reportedError = null;
      // Errors are reported in the trailers; an 'error' event nobody listens to must not crash.
      this.on('error', () => {});
    }

    setContentType(contentType) {
      if (this._writeCalled) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
      const value = String(contentType);
      if (/[^\t\x20-\x7E]/.test(value)) {
        throw new TypeError('Invalid character in header content ["Content-Type"]');
      }
      this._upload.contentType = value;
    }

    write(chunk, encoding, cb) {
      return super.write(this._accept(chunk), encoding, cb);
    }

    end(chunk, encoding, cb) {
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunk = this._accept(chunk);
      return super.end(chunk, encoding, cb);
    }

    // Ends the stream with err in the trailers, after what was written so far. False when the
    // stream has already ended: the error can no longer reach the caller.
    fail(err) {
      if (this.writableEnded || this.destroyed) return false;
      this._reportedError = err;
      this._failure = err;
      this.end();
      return true;
    }

    _accept(chunk) {
      this._writeCalled = true;
      // As AWS's runtime: anything but text and bytes is written as JSON.
      return typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    }

    _withPrelude(buffers) {
      if (this._preludeSent) return buffers;
      this._preludeSent = true;
      const hook = this._onBeforeFirstWrite;
      if (typeof hook !== 'function') return buffers;
      const prelude = [];
      hook((data) => prelude.push(typeof data === 'string' ? Buffer.from(data) : data));
      return prelude.concat(buffers);
    }

    _write(chunk, _encoding, cb) {
      this._upload.send(this._withPrelude([chunk]), cb);
    }

    _writev(entries, cb) {
      this._upload.send(this._withPrelude(entries.map((e) => e.chunk)), cb);
    }

    _final(cb) {
      const terminate = (err) => {
        if (err) return cb(err);
        const trailers = this._failure === null ? '' : errorTrailers(runtime, this._failure);
        // The daemon ends the invocation at the terminal chunk: its logs must be out first.
        afterOutputDrained(() => this._upload.finish(trailers, cb));
      };
      const prelude = this._withPrelude([]);
      // Without a prelude left to send, the head (if still unsent) leaves with the terminal chunk.
      if (prelude.length > 0) this._upload.send(prelude, terminate);
      else terminate();
    }

    _destroy(err, cb) {
      const upload = this._upload;
      if (!upload.ended && upload.error === null && this._reportedError === null) {
        const reported = err || new Error('The response stream was destroyed before it ended.');
        this._reportedError = reported;
        console.error('Invoke Error', toFormatted(reported));
        afterOutputDrained(() => upload.finish(errorTrailers(runtime, reported), () => {}));
      }
      cb(err);
    }
  };
}
