'use strict';
// The streamed response of the benchmark's urls section: a first chunk at once, the rest
// 100 ms later. The client's time to the first chunk against its time to the end shows whether
// chunks reach it as the function writes them or only once the function has finished.
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.chunks = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('first\n');
  await wait(100);
  responseStream.write('rest\n');
  responseStream.end();
});
