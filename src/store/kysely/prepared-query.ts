/**
 * A query built and compiled by kysely once, then run with new parameters. Building and compiling
 * a query (its operation tree, then the tree walk to SQL) was a fifth of a webhook's CPU time,
 * spent anew on each push for the same few statements. Both dialects compile here, so SQLite and
 * PostgreSQL run the very SQL the query builder makes.
 *
 * The query is built with a marker in place of each named parameter; compiling it gives the SQL and
 * the parameter list, in which each marker says which named value goes in its place. Every other
 * value (a constant such as `'queued'`) stays as compiled.
 */
import { CompiledQuery, type Compilable } from 'kysely';

/** A string no caller passes as a value: a NUL byte cannot be in a SQL text parameter here. */
const MARKER = '\u0000prepared-query-parameter:';

/** Stands for the parameter `name` while the query is built; typed as the value it stands for. */
export type Param<P> = <K extends keyof P & string>(name: K) => P[K];

type Slot = { name: string } | { value: unknown };

export class PreparedQuery<P, R> {
  private compiled: { sql: string; slots: Slot[] } | null = null;

  constructor(private readonly build: (param: Param<P>) => Compilable<R>) {}

  /** The query with these values, compiled once on first use. */
  with(params: P): CompiledQuery<R> {
    this.compiled ??= this.compile();
    const values = params as Record<string, unknown>;
    const parameters = this.compiled.slots.map((slot) => {
      if ('value' in slot) return slot.value;
      if (!(slot.name in values)) throw new Error(`prepared query: no value for parameter "${slot.name}"`);
      return values[slot.name];
    });
    return CompiledQuery.raw(this.compiled.sql, parameters) as CompiledQuery<R>;
  }

  private compile(): { sql: string; slots: Slot[] } {
    const param = ((name: string) => `${MARKER}${name}`) as Param<P>;
    const { sql, parameters } = this.build(param).compile();
    return {
      sql,
      slots: parameters.map((value) =>
        typeof value === 'string' && value.startsWith(MARKER)
          ? { name: value.slice(MARKER.length) }
          : { value },
      ),
    };
  }
}
