'use strict';
/*
 * The benchmark's Node peer: fastify + undici, every route h2api benchmarks, in one process.
 *
 * One undici Pool (the Node counterpart of one httpx.AsyncClient) with its defaults; upstream
 * bodies are passed through as text (no parse), the aggregate splices four bodies like h2api
 * does, and /proxy streams the upstream body. Node's HTTP/2 server has no h2c on an HTTP/1.1
 * port, so the same routes are served twice from this one process: HTTP/1.1 on BENCH_PORT and
 * h2c (prior knowledge) on BENCH_H2_PORT.
 *
 *   BENCH_NODE_MODULES=.tmp/bench-node/node_modules BENCH_UPSTREAM=http://127.0.0.1:P \
 *   BENCH_PORT=N BENCH_H2_PORT=M node bench/peers/fastify_app.js
 */
const path = require('path');
const modules = process.env.BENCH_NODE_MODULES;
const Fastify = require(path.join(modules, 'fastify'));
const { Pool } = require(path.join(modules, 'undici'));

const upstream = new Pool(process.env.BENCH_UPSTREAM);
const WELCOME = JSON.stringify({ message: 'Welcome to the API Wrapper Example', versions: { v1: '/v1' } });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

async function get(p) {
  const { statusCode, body } = await upstream.request({ path: p, method: 'GET' });
  return { statusCode, text: await body.text() };
}

function intParam(value) {
  return /^-?[0-9]+$/.test(value) ? Number.parseInt(value, 10) : null;
}

function detail(reply, status, msg) {
  return reply.code(status).send({ detail: msg });
}

function routes(app) {
  app.get('/', async (req, reply) => reply.type('application/json').send(WELCOME));

  app.get('/v1/posts/:postId', async (req, reply) => {
    const id = intParam(req.params.postId);
    if (id === null) return detail(reply, 422, 'post_id must be an integer');
    const r = await get(`/posts/${id}`);
    if (r.statusCode === 404) return detail(reply, 404, 'Post not found');
    if (r.statusCode !== 200) return detail(reply, 502, `Upstream answered ${r.statusCode}`);
    return reply.type('application/json').send(r.text);
  });

  app.get('/v1/users/:userId/posts', async (req, reply) => {
    const id = intParam(req.params.userId);
    if (id === null) return detail(reply, 422, 'user_id must be an integer');
    const r = await get(`/posts?userId=${id}`);
    if (r.statusCode !== 200) return detail(reply, 502, `Upstream answered ${r.statusCode}`);
    if (/^\s*\[\s*\]\s*$/.test(r.text)) return detail(reply, 404, 'No posts found for this user');
    return reply.type('application/json').send(r.text);
  });

  app.get('/v1/users/:userId/overview', async (req, reply) => {
    const id = intParam(req.params.userId);
    if (id === null) return detail(reply, 422, 'user_id must be an integer');
    const names = ['user', 'posts', 'todos', 'albums'];
    const results = await Promise.allSettled([
      get(`/users/${id}`), get(`/posts?userId=${id}`), get(`/todos?userId=${id}`), get(`/albums?userId=${id}`),
    ]);
    const user = results[0];
    if (user.status === 'rejected') return detail(reply, 502, String(user.reason));
    if (user.value.statusCode === 404) return detail(reply, 404, 'User not found');
    if (user.value.statusCode !== 200) return detail(reply, 502, `Upstream answered ${user.value.statusCode}`);
    let out = `{"user":${user.value.text}`;
    const errors = [];
    for (let i = 1; i < names.length; i++) {
      const r = results[i];
      if (r.status === 'fulfilled' && r.value.statusCode === 200) {
        out += `,"${names[i]}":${r.value.text}`;
      } else {
        out += `,"${names[i]}":null`;
        const msg = r.status === 'rejected' ? String(r.reason) : `Upstream answered ${r.value.statusCode}`;
        errors.push(`"${names[i]}":${JSON.stringify({ detail: msg })}`);
      }
    }
    if (errors.length !== 0) out += `,"errors":{${errors.join(',')}}`;
    return reply.type('application/json').send(out + '}');
  });

  app.all('/proxy/*', async (req, reply) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers))
      if (!HOP_BY_HOP.has(k) && !k.startsWith(':')) headers[k] = v;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.body !== undefined;
    const { statusCode, headers: upHeaders, body } = await upstream.request({
      path: req.url.slice('/proxy'.length),
      method: req.method,
      headers,
      body: hasBody ? (Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body)) : undefined,
    });
    reply.code(statusCode);
    for (const [k, v] of Object.entries(upHeaders))
      if (!HOP_BY_HOP.has(k)) reply.header(k, v);
    return reply.send(body);
  });
}

async function main() {
  const h1 = Fastify({ logger: false });
  const h2 = Fastify({ logger: false, http2: true });
  for (const app of [h1, h2]) {
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => done(null, body));
    routes(app);
  }
  await h1.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_PORT) });
  await h2.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_H2_PORT) });
  // SIGTERM keeps Node's default action: bench/run stops this process by its PID
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
