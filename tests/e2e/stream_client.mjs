// Calls InvokeWithResponseStream through the unmodified @aws-sdk/client-lambda and prints what
// its event-stream decoder gave, with the time each event reached this process, so that a
// Python test can check both the decoded content and when it arrived.
//
//   node stream_client.mjs CLIENT_DIR ENDPOINT < calls.json
//
// calls.json is a list of InvokeWithResponseStream inputs (Payload as a JSON value, sent
// serialized; "$omitData": true leaves the chunks' bytes out of the output, for big streams).
// The output is one JSON list with, per call, {"ok": {statusCode, executedVersion,
// contentType, events: [{type, ms, bytes, data (base64) | ...InvokeComplete}], ms}} or
// {"error": {name, message, status}, "ms"}; ms count from the moment the call was sent.
import { createRequire } from 'node:module';
import path from 'node:path';

const [clientDir, endpoint] = process.argv.slice(2);
const require = createRequire(path.join(clientDir, 'package.json'));
const { LambdaClient, InvokeWithResponseStreamCommand } = require('@aws-sdk/client-lambda');

const client = new LambdaClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  maxAttempts: 1,
});

async function call({ $omitData, ...input }) {
  const start = Date.now();
  const since = () => Date.now() - start;
  try {
    const out = await client.send(new InvokeWithResponseStreamCommand({
      ...input,
      Payload: input.Payload === undefined ? undefined : Buffer.from(JSON.stringify(input.Payload)),
    }));
    const events = [];
    for await (const event of out.EventStream) {
      if (event.PayloadChunk) {
        const data = Buffer.from(event.PayloadChunk.Payload ?? []);
        events.push({ type: 'PayloadChunk', ms: since(), bytes: data.length,
                      ...($omitData ? {} : { data: data.toString('base64') }) });
      } else if (event.InvokeComplete) {
        events.push({ type: 'InvokeComplete', ms: since(), ...event.InvokeComplete });
      } else {
        events.push({ type: Object.keys(event).join(','), ms: since() });
      }
    }
    return { ok: { statusCode: out.StatusCode, executedVersion: out.ExecutedVersion,
                   contentType: out.ResponseStreamContentType, events, ms: since() } };
  } catch (e) {
    return { error: { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode },
             ms: since() };
  }
}

let text = '';
for await (const chunk of process.stdin) text += chunk;
const results = [];
for (const input of JSON.parse(text)) results.push(await call(input));
process.stdout.write(JSON.stringify(results));
