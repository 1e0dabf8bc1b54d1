// A plain Node http2 h2c server for benchmarks: 100-byte body on every path.
const http2 = require('http2');
const body = Buffer.alloc(100, 'x');
const port = Number(process.argv[2] || 0);
const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } }, (req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
