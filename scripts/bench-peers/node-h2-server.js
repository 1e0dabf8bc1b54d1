// A plain Node http2 h2c server for benchmarks: 100 bytes on every path, N bytes on /bytes/N.
const http2 = require('http2');
const small = Buffer.alloc(100, 'x');
const port = Number(process.argv[2] || 0);
const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } }, (req, res) => {
  const m = /^\/bytes\/(\d+)$/.exec(req.url);
  const body = m ? Buffer.alloc(Math.min(Number(m[1]), 1 << 24), 'x') : small;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
