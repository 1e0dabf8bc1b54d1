// A Node 20 http2 client the way applications usually write one: one session, reused; when it
// closes or receives GOAWAY, the next request opens a new session. Requests that fail are not
// retried (Node's http2 core has no retry). Sends N GETs with C in flight; prints one JSON line.
//   node scripts/bench-peers/node-h2-load.js http://127.0.0.1:8080/ 5000 32
const http2 = require('node:http2');
const [url, nArg, cArg] = process.argv.slice(2);
const N = Number(nArg || 1000), C = Number(cArg || 32);
const target = new URL(url);
let session = null, issued = 0, ok = 0, failed = 0, goaways = 0;
const errors = {};

function getSession() {
  if (session && !session.closed && !session.destroyed && !session.goingAway) return session;
  const s = http2.connect(target.origin, { rejectUnauthorized: false });  // loopback, self-signed
  s.on('error', () => {});
  s.on('goaway', () => { goaways++; s.goingAway = true; });
  s.on('close', () => { if (session === s) session = null; });
  session = s;
  return s;
}

function one() {
  return new Promise((resolve) => {
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      if (err) { failed++; const k = err.code || err.message; errors[k] = (errors[k] || 0) + 1; } else ok++;
      resolve();
    };
    try {
      const req = getSession().request({ ':path': target.pathname + target.search });
      req.on('response', () => {});
      req.on('data', () => {});
      req.on('end', () => finish(req.rstCode && req.rstCode !== 0 ? Object.assign(new Error('rst'), { code: 'RST_' + req.rstCode }) : null));
      req.on('error', finish);
      req.on('close', () => finish(req.rstCode ? Object.assign(new Error('rst'), { code: 'RST_' + req.rstCode }) : null));
      req.end();
    } catch (err) { finish(err); }
  });
}

async function worker() {
  while (issued < N) { issued++; await one(); }
}

(async () => {
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: C }, worker));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (session) session.close();
  console.log(JSON.stringify({ requests: N, succeeded: ok, failed, goaways_received: goaways, errors, elapsed_s: s }));
  process.exit(0);
})();
