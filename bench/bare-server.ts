/**
 * The webhook benchmark's baseline in a process of its own: a bare fastify taking the same signed
 * pushes (body read as a buffer) and answering 202. Prints its port on stdout.
 */
import Fastify from 'fastify';

const bare = Fastify();
bare.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
bare.post('/build/:project/hook', async (_request, reply) => reply.status(202).send({ ok: true }));
const address = await bare.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${new URL(address).port}\n`);
