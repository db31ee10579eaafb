import { parseStatement } from '@bizmon/db';

/** [sql, operation, table]: statements as ORMs, query builders, migrations and people write them. */
const cases: [string, string, string][] = [
  // plain SELECT
  ['SELECT 1', 'SELECT', 'unknown'],
  ['select now()', 'SELECT', 'unknown'],
  ['SELECT * FROM users WHERE id = $1', 'SELECT', 'users'],
  ["SELECT id, email FROM Users WHERE email = 'a@b.c'", 'SELECT', 'users'],
  ['  \n\tSELECT * FROM orders', 'SELECT', 'orders'],
  ['SELECT * FROM public.users', 'SELECT', 'public.users'],
  ['SELECT * FROM "Users"', 'SELECT', 'Users'],
  ['SELECT * FROM "MySchema"."Order Items" oi', 'SELECT', 'MySchema.Order Items'],
  ['SELECT * FROM "we""ird"', 'SELECT', 'we"ird'],
  ['SELECT u.* FROM users u JOIN orders o ON o.user_id = u.id', 'SELECT', 'users'],
  ['SELECT * FROM users u LEFT OUTER JOIN profiles p USING (id)', 'SELECT', 'users'],
  ["SELECT count(*) FROM events WHERE created_at > now() - interval '1 day'", 'SELECT', 'events'],
  ['SELECT EXTRACT(YEAR FROM created_at) FROM invoices', 'SELECT', 'invoices'],
  [
    "SELECT substring(name FROM 2 FOR 3), trim(both 'x' FROM name) FROM products",
    'SELECT',
    'products',
  ],
  ['SELECT a IS DISTINCT FROM b FROM pairs', 'SELECT', 'pairs'],
  ['SELECT * FROM (SELECT * FROM accounts WHERE active) a', 'SELECT', 'accounts'],
  ['SELECT * FROM generate_series(1, 10) g', 'SELECT', 'unknown'],
  ['SELECT * FROM generate_series(1, 10) g JOIN days d ON d.n = g', 'SELECT', 'days'],
  ['SELECT * FROM unnest($1::int[]) AS t(id) JOIN items i ON i.id = t.id', 'SELECT', 'items'],
  ['SELECT (SELECT max(id) FROM logs) AS m', 'SELECT', 'logs'],
  ["SELECT coalesce((SELECT name FROM teams WHERE id = $1), 'none')", 'SELECT', 'teams'],
  ['SELECT * FROM ONLY measurements', 'SELECT', 'measurements'],
  [
    'SELECT * FROM users, LATERAL (SELECT * FROM posts p WHERE p.user_id = users.id LIMIT 1) p',
    'SELECT',
    'users',
  ],
  ['SELECT * FROM users WHERE id IN (SELECT user_id FROM bans)', 'SELECT', 'users'],
  [
    'SELECT * FROM users WHERE EXISTS (SELECT 1 FROM sessions s WHERE s.uid = users.id)',
    'SELECT',
    'users',
  ],
  ['SELECT * FROM users FOR UPDATE SKIP LOCKED', 'SELECT', 'users'],
  ["SELECT * FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE", 'SELECT', 'jobs'],
  ['SELECT x::text FROM t1', 'SELECT', 't1'],
  ['SELECT DISTINCT ON (user_id) * FROM logins ORDER BY user_id, at DESC', 'SELECT', 'logins'],
  ['SELECT * FROM a UNION ALL SELECT * FROM b', 'SELECT', 'a'],
  ['(SELECT id FROM a) UNION (SELECT id FROM b)', 'SELECT', 'a'],
  ['SELECT * FROM café', 'SELECT', 'café'],
  ['SELECT * FROM "用户"', 'SELECT', '用户'],
  ['SELECT * FROM db1.public.users', 'SELECT', 'db1.public.users'],
  ['SELECT "from" FROM "select"', 'SELECT', 'select'],
  ['SELECT * FROM pg_catalog.pg_tables', 'SELECT', 'pg_catalog.pg_tables'],
  ['SELECT pg_sleep(1.5)', 'SELECT', 'unknown'],
  ['SELECT $1::int AS n', 'SELECT', 'unknown'],
  ["SELECT * FROM t WHERE name = 'x FROM secret_table'", 'SELECT', 't'],
  ["SELECT 'FROM leak' AS a", 'SELECT', 'unknown'],
  ["SELECT E'it\\'s FROM leak' FROM quotes", 'SELECT', 'quotes'],
  ['SELECT $$ FROM dollar $$ FROM bodies', 'SELECT', 'bodies'],
  ['SELECT $fn$ FROM tagged $x$ $fn$ FROM tagged_bodies', 'SELECT', 'tagged_bodies'],
  ["SELECT U&'d\\0061t FROM' FROM uni", 'SELECT', 'uni'],
  ['SELECT 1.5e10 FROM nums', 'SELECT', 'nums'],
  ['SELECT * FROM users WHERE id = ANY($1)', 'SELECT', 'users'],
  ['SELECT * FROM "public"."users" WHERE "email" = $1 LIMIT $2', 'SELECT', 'public.users'],
  // comments
  ['-- fetch the user\nSELECT * FROM users', 'SELECT', 'users'],
  ['/* app:api route:/users */ SELECT * FROM users', 'SELECT', 'users'],
  ['/* outer /* nested FROM x */ still comment */ SELECT * FROM y', 'SELECT', 'y'],
  ['SELECT * -- FROM not_this\nFROM this_one', 'SELECT', 'this_one'],
  ["SELECT * FROM users /*traceparent='00-abc-def-01'*/", 'SELECT', 'users'],
  // CTEs
  [
    "WITH recent AS (SELECT * FROM orders WHERE at > now() - interval '1 h') SELECT * FROM recent",
    'SELECT',
    'orders',
  ],
  ['WITH r AS (SELECT 1) SELECT * FROM r JOIN customers c ON true', 'SELECT', 'customers'],
  [
    'WITH RECURSIVE tree(id, parent) AS (SELECT id, parent FROM nodes WHERE parent IS NULL UNION ALL SELECT n.id, n.parent FROM nodes n JOIN tree t ON n.parent = t.id) SELECT * FROM tree',
    'SELECT',
    'nodes',
  ],
  [
    'WITH a AS MATERIALIZED (SELECT * FROM big), b AS NOT MATERIALIZED (SELECT * FROM small) SELECT * FROM a, b',
    'SELECT',
    'big',
  ],
  [
    'WITH moved AS (DELETE FROM inbox WHERE read RETURNING *) INSERT INTO archive SELECT * FROM moved',
    'INSERT',
    'archive',
  ],
  [
    'WITH upd AS (UPDATE stock SET qty = qty - 1 WHERE id = $1 RETURNING *) SELECT * FROM upd',
    'SELECT',
    'stock',
  ],
  ['WITH x AS (SELECT id FROM a) UPDATE b SET flag = true FROM x WHERE b.id = x.id', 'UPDATE', 'b'],
  ['WITH x AS (SELECT 1) DELETE FROM sessions WHERE expires < now()', 'DELETE', 'sessions'],
  // INSERT
  ['INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id', 'INSERT', 'users'],
  ["INSERT INTO logs VALUES ('secret-token', 42)", 'INSERT', 'logs'],
  ['insert into public.audit_log(action) values($1)', 'INSERT', 'public.audit_log'],
  ['INSERT INTO "Events" ("Type") VALUES ($1)', 'INSERT', 'Events'],
  ['INSERT INTO archive SELECT * FROM orders WHERE at < $1', 'INSERT', 'archive'],
  ['INSERT INTO t (a) SELECT a FROM s ON CONFLICT (a) DO NOTHING', 'INSERT', 't'],
  [
    'INSERT INTO counters (k, v) VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET v = counters.v + 1',
    'INSERT',
    'counters',
  ],
  ['INSERT INTO items DEFAULT VALUES', 'INSERT', 'items'],
  ['INSERT INTO t AS alias (a) VALUES (1)', 'INSERT', 't'],
  // UPDATE
  ['UPDATE users SET name = $1 WHERE id = $2', 'UPDATE', 'users'],
  ["UPDATE users SET password = 'hunter2' WHERE id = 1", 'UPDATE', 'users'],
  ['UPDATE ONLY parent SET x = 1', 'UPDATE', 'parent'],
  [
    'UPDATE accounts a SET balance = a.balance + t.amount FROM transfers t WHERE t.account_id = a.id',
    'UPDATE',
    'accounts',
  ],
  ['UPDATE "Sales"."Orders" SET "Status" = $1', 'UPDATE', 'Sales.Orders'],
  ['update inventory set qty = qty - 1 where sku = $1 returning qty', 'UPDATE', 'inventory'],
  // DELETE
  ['DELETE FROM sessions WHERE id = $1', 'DELETE', 'sessions'],
  ['DELETE FROM ONLY cache_entries', 'DELETE', 'cache_entries'],
  [
    'DELETE FROM orders o USING customers c WHERE o.customer_id = c.id AND c.banned',
    'DELETE',
    'orders',
  ],
  ['delete from "Queue" where "Id" = any($1) returning *', 'DELETE', 'Queue'],
  // MERGE
  [
    'MERGE INTO stock s USING deliveries d ON s.item = d.item WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty',
    'MERGE',
    'stock',
  ],
  // multi-statement
  ['BEGIN; UPDATE accounts SET b = b - 1 WHERE id = 1; COMMIT;', 'UPDATE', 'accounts'],
  ['SET search_path TO app; SELECT * FROM widgets', 'SELECT', 'widgets'],
  ['SELECT 1; SELECT 2', 'SELECT', 'unknown'],
  [
    'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT f() FROM dual_t',
    'SELECT',
    'dual_t',
  ],
  // transaction control and session
  ['BEGIN', 'BEGIN', 'unknown'],
  ['begin isolation level serializable', 'BEGIN', 'unknown'],
  ['START TRANSACTION', 'START', 'unknown'],
  ['COMMIT', 'COMMIT', 'unknown'],
  ['ROLLBACK', 'ROLLBACK', 'unknown'],
  ['ROLLBACK TO SAVEPOINT sp1', 'ROLLBACK', 'unknown'],
  ['SAVEPOINT sp1', 'SAVEPOINT', 'unknown'],
  ['RELEASE SAVEPOINT sp1', 'RELEASE', 'unknown'],
  ["SET statement_timeout = '5s'", 'SET', 'unknown'],
  ['SET LOCAL lock_timeout TO 1000', 'SET', 'unknown'],
  ['SHOW server_version', 'SHOW', 'unknown'],
  ['RESET ALL', 'RESET', 'unknown'],
  ["SELECT set_config('app.user', $1, true)", 'SELECT', 'unknown'],
  ['LISTEN jobs', 'LISTEN', 'unknown'],
  ["NOTIFY jobs, 'payload'", 'NOTIFY', 'unknown'],
  ['SELECT pg_advisory_xact_lock($1)', 'SELECT', 'unknown'],
  ['DISCARD ALL', 'DISCARD', 'unknown'],
  // DDL (migrations)
  ['CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL)', 'CREATE', 'users'],
  ['CREATE TABLE IF NOT EXISTS public.migrations (id int)', 'CREATE', 'public.migrations'],
  ['CREATE TEMP TABLE tmp_ids (id int) ON COMMIT DROP', 'CREATE', 'tmp_ids'],
  ['CREATE UNLOGGED TABLE fast (k text)', 'CREATE', 'fast'],
  [
    'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (lower(email))',
    'CREATE',
    'users',
  ],
  ['CREATE INDEX ON ONLY events (at)', 'CREATE', 'events'],
  [
    'CREATE OR REPLACE VIEW active_users AS SELECT * FROM users WHERE active',
    'CREATE',
    'active_users',
  ],
  [
    'CREATE MATERIALIZED VIEW daily AS SELECT date(at), count(*) FROM events GROUP BY 1',
    'CREATE',
    'daily',
  ],
  ['CREATE SCHEMA IF NOT EXISTS app', 'CREATE', 'unknown'],
  ['CREATE EXTENSION IF NOT EXISTS pgcrypto', 'CREATE', 'unknown'],
  ['ALTER TABLE users ADD COLUMN age int', 'ALTER', 'users'],
  ['ALTER TABLE IF EXISTS ONLY public.users DROP COLUMN age', 'ALTER', 'public.users'],
  ['DROP TABLE IF EXISTS users CASCADE', 'DROP', 'users'],
  ['DROP TABLE a, b', 'DROP', 'a'],
  ['DROP INDEX users_email', 'DROP', 'unknown'],
  ['TRUNCATE users RESTART IDENTITY', 'TRUNCATE', 'users'],
  ['TRUNCATE TABLE ONLY logs, events', 'TRUNCATE', 'logs'],
  ['LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE', 'LOCK', 'accounts'],
  ["COMMENT ON TABLE users IS 'people'", 'COMMENT', 'unknown'],
  ['GRANT SELECT ON users TO reader', 'GRANT', 'unknown'],
  ['REFRESH MATERIALIZED VIEW CONCURRENTLY daily', 'REFRESH', 'unknown'],
  // maintenance
  ['VACUUM', 'VACUUM', 'unknown'],
  ['VACUUM (VERBOSE, ANALYZE) big_table', 'VACUUM', 'big_table'],
  ['VACUUM FULL users', 'VACUUM', 'users'],
  ['ANALYZE users', 'ANALYZE', 'users'],
  ['REINDEX TABLE users', 'REINDEX', 'users'],
  ['CLUSTER users USING users_pkey', 'CLUSTER', 'users'],
  // COPY
  ['COPY users (id, email) FROM STDIN WITH (FORMAT csv)', 'COPY', 'users'],
  ['COPY (SELECT * FROM orders WHERE at > $1) TO STDOUT', 'COPY', 'orders'],
  // EXPLAIN, PREPARE, cursors, functions
  ['EXPLAIN SELECT * FROM users', 'EXPLAIN', 'users'],
  ['EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET x = 1', 'EXPLAIN', 't'],
  ['EXPLAIN ANALYZE VERBOSE SELECT * FROM big', 'EXPLAIN', 'big'],
  ['PREPARE get_user (int) AS SELECT * FROM users WHERE id = $1', 'PREPARE', 'users'],
  ['EXECUTE get_user(1)', 'EXECUTE', 'unknown'],
  ['DEALLOCATE get_user', 'DEALLOCATE', 'unknown'],
  ['DECLARE c CURSOR WITH HOLD FOR SELECT * FROM logs', 'DECLARE', 'logs'],
  ['FETCH 100 FROM c', 'FETCH', 'unknown'],
  ['CLOSE c', 'CLOSE', 'unknown'],
  ['CALL refresh_stats($1)', 'CALL', 'unknown'],
  ["DO $$ BEGIN DELETE FROM secret WHERE x = 'y'; END $$", 'DO', 'unknown'],
  ['VALUES (1, 2), (3, 4)', 'VALUES', 'unknown'],
  ['TABLE users', 'TABLE', 'users'],
  // typical ORM/query builder output
  [
    'select "users"."id", "users"."email" from "users" where "users"."id" = $1 limit $2',
    'SELECT',
    'users',
  ],
  [
    'SELECT "User"."id" AS "User_id" FROM "user" "User" WHERE "User"."id" IN ($1)',
    'SELECT',
    'user',
  ],
  [
    'SELECT "t0"."id" FROM "public"."Post" AS "t0" WHERE ("t0"."published" = $1) OFFSET $2',
    'SELECT',
    'public.Post',
  ],
  [
    'SELECT count(*) AS "count" FROM "orders" AS "Order" WHERE "Order"."deletedAt" IS NULL',
    'SELECT',
    'orders',
  ],
  [
    'INSERT INTO "public"."Post" ("title","authorId") VALUES ($1,$2) RETURNING "public"."Post"."id"',
    'INSERT',
    'public.Post',
  ],
  ['UPDATE "user" SET "lastSeen" = CURRENT_TIMESTAMP WHERE "id" = $1', 'UPDATE', 'user'],
  [
    'SELECT "a".* FROM "app"."accounts" "a" INNER JOIN "app"."members" "m" ON "m"."account_id" = "a"."id"',
    'SELECT',
    'app.accounts',
  ],
  ['SELECT json_agg(t) FROM (SELECT id FROM tags ORDER BY id) t', 'SELECT', 'tags'],
  [
    'SELECT * FROM users WHERE created_at BETWEEN $1 AND $2 ORDER BY created_at DESC LIMIT 50 OFFSET 100',
    'SELECT',
    'users',
  ],
  [
    'SELECT row_number() OVER (PARTITION BY a ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM w',
    'SELECT',
    'w',
  ],
  [
    "SELECT to_char(created_at, 'YYYY-MM') m, sum(amount) FROM payments GROUP BY 1 HAVING sum(amount) > 100",
    'SELECT',
    'payments',
  ],
  [
    'SELECT CASE WHEN x > 0 THEN (SELECT 1 FROM flags LIMIT 1) ELSE 0 END FROM metrics',
    'SELECT',
    'flags',
  ],
  ['SELECT pg_sleep(0.2) FROM slow_tbl', 'SELECT', 'slow_tbl'],
  // odd input
  ['', 'UNKNOWN', 'unknown'],
  ['   ;  ; ', 'UNKNOWN', 'unknown'],
  ['-- only a comment', 'UNKNOWN', 'unknown'],
  ['SELEC * FROM typo', 'SELEC', 'unknown'],
  ["SELECT 'unterminated FROM x", 'SELECT', 'unknown'],
  ['SELECT * FROM', 'SELECT', 'unknown'],
  ['42', 'UNKNOWN', 'unknown'],
];

describe('parseStatement', () => {
  test(`has at least 100 real-world cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  test.each(cases)('%s → %s %s', (sql, operation, table) => {
    expect(parseStatement(sql)).toEqual({ operation, table });
  });

  test('literal values never reach a label', () => {
    const secrets = ['hunter2', 'secret-token', 'secret_table', 'leak', 'payload', 'FROM dollar'];
    for (const [sql] of cases) {
      const { operation, table } = parseStatement(sql);
      for (const s of secrets) {
        expect(operation).not.toContain(s);
        expect(table).not.toContain(s);
      }
    }
  });

  test('caches per text and stays bounded', () => {
    const a = parseStatement('SELECT * FROM cached_tbl');
    expect(parseStatement('SELECT * FROM cached_tbl')).toBe(a);
    for (let i = 0; i < 3000; i++) parseStatement(`SELECT * FROM t${i}`);
    expect(parseStatement('SELECT * FROM t2999')).toEqual({ operation: 'SELECT', table: 't2999' });
  });

  test('a huge statement is scanned in bounded time', () => {
    const sql =
      'INSERT INTO bulk (a) VALUES ' + Array.from({ length: 100000 }, (_, i) => `(${i})`).join(',');
    expect(parseStatement(sql)).toEqual({ operation: 'INSERT', table: 'bulk' });
  });

  test('never throws on non-strings', () => {
    expect(parseStatement(undefined as unknown as string)).toEqual({
      operation: 'UNKNOWN',
      table: 'unknown',
    });
  });
});
