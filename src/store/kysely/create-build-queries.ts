/**
 * The statements every push runs (`createBuild` and the webhook's delivery lookup), built and
 * compiled once per store (prepared-query.ts) instead of on each call. Those taking a list of
 * repository names (a renamed repository's aliases) are compiled once per list length.
 */
import type { Compilable, CompiledQuery, Insertable, Kysely, Selectable } from 'kysely';
import type { BuildCommitsTable, BuildsTable, Database, DeliveriesTable } from './schema.js';
import { commitsColumn, type BuildRow } from './rows.js';
import { PreparedQuery, type Param } from './prepared-query.js';

/** The columns a new build is inserted with, all of them every time: the compiled INSERT has one shape. */
const NEW_BUILD_COLUMNS = [
  'project',
  'repository',
  'ref_type',
  'branch',
  'commit_sha',
  'kind',
  'state',
  'pusher',
  'delivery_id',
  'body_sha256',
  'steps',
  'retry_of',
  'attempt',
  'pull_number',
  'pull_title',
  'pull_base_branch',
  'pull_head_repository',
  'pull_fork',
  'pull_author',
  'pull_approval',
  'created_at',
] as const satisfies readonly (keyof Insertable<BuildsTable>)[];

export type NewBuildRow = Required<Pick<Insertable<BuildsTable>, (typeof NEW_BUILD_COLUMNS)[number]>>;

/** A list of repository names as parameters `name0`, `name1`, … */
type Names = Record<`name${number}`, string>;

/** One prepared query per length of the names list. */
function perNameCount<P, R>(build: (param: Param<P & Names>, names: string[]) => Compilable<R>) {
  const byCount = new Map<number, PreparedQuery<P & Names, R>>();
  return (names: readonly string[], params: P): CompiledQuery<R> => {
    let query = byCount.get(names.length);
    if (!query) {
      const count = names.length;
      query = new PreparedQuery<P & Names, R>((param) =>
        build(
          param,
          Array.from({ length: count }, (_, i) => param(`name${i}`)),
        ),
      );
      byCount.set(count, query);
    }
    const values = Object.fromEntries(names.map((name, i) => [`name${i}`, name])) as Names;
    return query.with({ ...params, ...values });
  };
}

export class CreateBuildQueries {
  constructor(private readonly db: Kysely<Database>) {}

  readonly findDelivery = new PreparedQuery<{ deliveryId: string }, Selectable<DeliveriesTable>>((param) =>
    this.db.selectFrom('deliveries').selectAll().where('delivery_id', '=', param('deliveryId')),
  );

  /** Claims a delivery id: a row back when it was new, none when it was there already. */
  readonly claimDelivery = new PreparedQuery<
    Pick<DeliveriesTable, 'delivery_id' | 'event' | 'received_at' | 'repository' | 'ref'>,
    { delivery_id: string }
  >((param) =>
    this.db
      .insertInto('deliveries')
      .values({
        delivery_id: param('delivery_id'),
        event: param('event'),
        outcome: 'pending',
        build_id: null,
        reason: null,
        received_at: param('received_at'),
        repository: param('repository'),
        ref: param('ref'),
      })
      .onConflict((oc) => oc.column('delivery_id').doNothing())
      .returning('delivery_id'),
  );

  readonly linkDelivery = new PreparedQuery<{ deliveryId: string; buildId: number }, never>((param) =>
    this.db
      .updateTable('deliveries')
      .set({ outcome: 'build', build_id: param('buildId'), reason: null })
      .where('delivery_id', '=', param('deliveryId')),
  );

  readonly build = new PreparedQuery<{ id: number }, BuildRow>((param) =>
    this.db.selectFrom('builds').selectAll().select(commitsColumn).where('id', '=', param('id')),
  );

  readonly insertBuild = new PreparedQuery<NewBuildRow, Selectable<BuildsTable>>((param) =>
    this.db
      .insertInto('builds')
      .values(Object.fromEntries(NEW_BUILD_COLUMNS.map((column) => [column, param(column)])) as NewBuildRow)
      .returningAll(),
  );

  /** A new build's commit list (none for an empty one: schema.ts). */
  readonly insertCommits = new PreparedQuery<BuildCommitsTable, never>((param) =>
    this.db.insertInto('build_commits').values({ build_id: param('build_id'), commits: param('commits') }),
  );

  /** The first build made by this very body (push-history.ts). */
  readonly sameBody = new PreparedQuery<{ bodySha256: string }, { id: number }>((param) =>
    this.db
      .selectFrom('builds')
      .select('id')
      .where('body_sha256', '=', param('bodySha256'))
      .orderBy('id', 'asc')
      .limit(1),
  );

  /** The newest build of a ref (push-history.ts). */
  readonly newestOfRef = new PreparedQuery<
    { repository: string; refType: string; branch: string },
    { id: number; commit_sha: string }
  >((param) =>
    this.db
      .selectFrom('builds')
      .select(['id', 'commit_sha'])
      .where('repository', '=', param('repository'))
      .where('ref_type', '=', param('refType'))
      .where('branch', '=', param('branch'))
      .orderBy('id', 'desc')
      .limit(1),
  );

  /** The ref's queued builds older than `id`, superseded by it (under any of the repository's names). */
  readonly supersede = perNameCount<
    { refType: string; branch: string; id: number; reason: string; now: string },
    BuildRow
  >((param, names) =>
    this.db
      .updateTable('builds')
      .set({ state: 'superseded', reason: param('reason'), finished_at: param('now') })
      .where('repository', 'in', names)
      .where('ref_type', '=', param('refType'))
      .where('branch', '=', param('branch'))
      .where('state', '=', 'queued')
      .where('id', '<', param('id'))
      .returningAll()
      .returning(commitsColumn),
  );

  /** Queued builds of a repository under any of its names (queue-limits.ts). */
  readonly countQueued = perNameCount<Record<never, never>, { count: number }>((_param, names) =>
    this.db
      .selectFrom('builds')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('state', '=', 'queued')
      .where('repository', 'in', names),
  );
}
