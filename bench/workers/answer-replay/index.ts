// `npm run bench`'s floor for "verify / health": a Worker that checks nothing
// and answers GET /auth/verify with exactly what the service answered for the
// bench's token (status, every header, the body) and GET /health with exactly
// what the service's /health answered, both captured by the bench and handed
// over once (POST /__answers). Next to each other, they cost what the bigger
// request (the token) and the bigger answer (the claims, the identity and
// no-store headers) cost workerd and the load generator, with no work at all:
// the most a verify with one client's token can reach next to /health.
type Answer = { status: number; headers: [string, string][]; body: string };
type Prepared = { status: number; headers: Headers; body: string };

let answers: { verify: Prepared; health: Prepared } | undefined;

function prepare(answer: Answer): Prepared {
  return { status: answer.status, headers: new Headers(answer.headers), body: answer.body };
}

export default {
  // Not async: a GET costs no promise of its own.
  fetch(request: Request): Response | Promise<Response> {
    if (request.method === "POST" && request.url.endsWith("/__answers")) {
      return request.json().then((given) => {
        const { verify, health } = given as { verify: Answer; health: Answer };
        answers = { verify: prepare(verify), health: prepare(health) };
        return new Response(null, { status: 204 });
      });
    }
    if (!answers) return new Response("no answers yet", { status: 503 });
    const answer = request.url.endsWith("/health") ? answers.health : answers.verify;
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  },
};
