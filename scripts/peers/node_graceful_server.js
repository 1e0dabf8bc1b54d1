// h2c server that closes every session gracefully (session.close(): GOAWAY, then waits for open
// streams) after N requests. Usage: node node_graceful_server.js PORT N. Prints "LISTENING <port>".
const http2 = require('http2');
const port = parseInt(process.argv[2] || '0', 10);
const every = parseInt(process.argv[3] || '100', 10);
const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } });
server.on('session', (session) => {
  let count = 0;
  session.on('stream', (stream, headers) => {
    count += 1;
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const body = `ok ${headers[':path']} ${Buffer.concat(chunks).length}\n`;
      if (!stream.destroyed) {
        stream.respond({ ':status': 200, 'content-length': Buffer.byteLength(body) });
        stream.end(body);
      }
    });
    stream.on('error', () => {});
    if (count === every && !session.closed) session.close();
  });
  session.on('error', () => {});
});
server.listen(port, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
