'use strict';
// The direct baseline for the node rows: bench/handlers/node/handler.js behind one loopback
// HTTP/1.1 keep-alive hop (node:http), no platform. Like the runtime it parses the JSON
// event, awaits handler(event, context) and serialises the result.
//
//   node server.js PORT HANDLER_FILE EXPORT      e.g. server.js 9103 ../handlers/node/handler.js noop
const http = require('node:http');
const path = require('node:path');

const [port, file, name] = process.argv.slice(2);
const handler = require(path.resolve(file))[name];
const context = {
  awsRequestId: 'baseline',
  functionName: 'baseline',
  getRemainingTimeInMillis: () => 3000,
};

const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks).toString();
    const event = body ? JSON.parse(body) : {};
    const out = JSON.stringify(await handler(event, context));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
    res.end(out);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(port), '127.0.0.1');
