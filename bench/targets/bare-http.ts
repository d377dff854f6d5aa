import { createServer } from 'node:http';

/**
 * The ceiling: node:http answering a fixed JSON of the size of a real client access token answer, after reading
 * the request body. Nothing else runs in the process.
 */
const answer = JSON.stringify({ message: { token: 'x'.repeat(Number(process.env.BENCH_ANSWER_BYTES ?? 600)) } });
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) };

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(201, headers);
    response.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
