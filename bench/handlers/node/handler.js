'use strict';
// The node handlers every node row of the benchmark runs: on lambent (nodejs20.x), in the
// direct baseline (bench/baseline/server.js) and in serverless-offline (bench/peer).
exports.noop = async () => ({});

exports.sleep100 = () => new Promise((resolve) => setTimeout(() => resolve({}), 100));

exports.sleep3000 = () => new Promise((resolve) => setTimeout(() => resolve({}), 3000));
