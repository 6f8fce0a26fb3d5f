/** Which node-postgres errors mean "the database is not there" (503, retried) and which are bugs. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  databaseAddress,
  describeConnectionError,
  isConnectionError,
} from '../../src/store/postgres/connection-error.js';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

it('tells connection errors from query errors', () => {
  const cases: [unknown, boolean][] = [
    [coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), true],
    [coded('terminating connection due to administrator command', '57P01'), true],
    [coded('the database system is starting up', '57P03'), true],
    [coded('connection failure', '08006'), true],
    [new Error('Connection terminated unexpectedly'), true],
    // pg's query_timeout: a server that stopped answering (paused, a link gone without a reset).
    [new Error('Query read timeout'), true],
    [new Error('timeout exceeded when trying to connect'), true],
    [new AggregateError([coded('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''), true],
    [coded('syntax error at or near "SELEC"', '42601'), false],
    [coded('duplicate key value violates unique constraint', '23505'), false],
    [new Error('no such column'), false],
    ['a string', false],
  ];
  for (const [error, expected] of cases)
    assert.equal(isConnectionError(error), expected, String((error as Error).message ?? error));
});

it('describes an AggregateError (IPv4 and IPv6 both refused) by its first cause', () => {
  const error = new AggregateError([coded('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '');
  assert.equal(describeConnectionError(error), 'connect ECONNREFUSED ::1:5432');
});

it('names host:port, never the password', () => {
  assert.equal(databaseAddress('postgres://u:secret@db.example:6543/ab'), 'db.example:6543');
  assert.equal(databaseAddress('postgresql://u:secret@db.example/ab'), 'db.example:5432');
  assert.equal(databaseAddress('postgres://u@/ab?host=/run/postgresql'), '/run/postgresql:5432');
  assert.doesNotMatch(databaseAddress('postgres://u:secret@[::1]:5432/ab'), /secret/);
});
