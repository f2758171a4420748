-- What inserting a stored message costs PostgreSQL, part by part.
--
--   psql -h 127.0.0.1 -U postgres -d chat_bench -f chat-bench/scripts/pg-insert-parts.sql
--
-- Run it on a database that chat-server has migrated and chat-bench has filled with at least
-- 240 conversations (e.g. right after a `groups` run). In a schema of its own, dropped at the
-- end, it makes copies of `messages` that lack one more part each, and inserts into them the
-- writer's own way: batches of 240 rows, one per conversation, as one `jsonb` parameter through
-- `jsonb_to_recordset`, each batch committed. The variants take turns (ROUNDS rounds of BATCHES
-- batches each), so that drift on the machine spreads over all of them. The difference between
-- two neighbouring rows of the result is the cost of the part the second one lacks:
--
--   full        `messages` as it is: its indexes, the search vector, the foreign keys
--   no_fk       without the foreign keys (checked per inserted row by triggers)
--   no_gin      also without the GIN index on the search vector
--   no_vector   also without computing the search vector
--   pkey_only   also without the secondary B-tree indexes
--   heap        also without the primary key: the row alone
--
-- Then the search vector's expression on its own, over the same texts: the punctuation
-- replacement, the text-search configuration (unaccent, then simple), and both.
--
-- The content is chat-bench's (a timestamp, the sender's number and padding to CONTENT_SIZE
-- characters) unless TEXT is set to a sentence, which is then used for every row.
\set ON_ERROR_STOP on
\if :{?ROUNDS} \else \set ROUNDS 3 \endif
\if :{?BATCHES} \else \set BATCHES 60 \endif
\if :{?CONTENT_SIZE} \else \set CONTENT_SIZE 64 \endif
\if :{?TEXT} \else \set TEXT '' \endif
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS insert_parts CASCADE;
CREATE SCHEMA insert_parts;

-- One batch as the writer builds it.
CREATE TABLE insert_parts.batch AS
SELECT jsonb_agg(jsonb_build_object(
         'conversation_id', c.id, 'sender_id', u.id, 'message_type', 'text',
         'content', CASE WHEN :'TEXT' <> '' THEN :'TEXT'
                    ELSE rpad('1764867000000000 ' || c.n || '.1 ', :CONTENT_SIZE, 'x') END)) AS body
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM conversations ORDER BY id LIMIT 240) c
CROSS JOIN (SELECT id FROM users ORDER BY id LIMIT 1) u;
DO $$ BEGIN
  IF (SELECT jsonb_array_length(body) FROM insert_parts.batch) < 240 THEN
    RAISE EXCEPTION 'needs at least 240 conversations (run chat-bench groups on this database first)';
  END IF;
END $$;
CREATE SEQUENCE insert_parts.seq;

-- The variants.
CREATE TABLE insert_parts.full_ (LIKE public.messages INCLUDING ALL);
CREATE TABLE insert_parts.no_fk (LIKE public.messages INCLUDING ALL);
CREATE TABLE insert_parts.no_gin (LIKE public.messages INCLUDING ALL);
CREATE TABLE insert_parts.no_vector (LIKE public.messages INCLUDING ALL EXCLUDING GENERATED);
CREATE TABLE insert_parts.pkey_only (LIKE public.messages INCLUDING ALL EXCLUDING GENERATED);
CREATE TABLE insert_parts.heap (LIKE public.messages INCLUDING DEFAULTS INCLUDING IDENTITY);
DO $$
DECLARE r record;
BEGIN
  -- The foreign keys of `messages`, a reference to `messages` itself becoming one to the copy.
  FOR r IN SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
           WHERE conrelid = 'public.messages'::regclass AND contype = 'f' LOOP
    EXECUTE 'ALTER TABLE insert_parts.full_ ADD '
      || regexp_replace(r.def, 'REFERENCES (public\.)?messages\(', 'REFERENCES insert_parts.full_(');
  END LOOP;
  FOR r IN SELECT i.indexrelid::regclass AS idx, c.relname AS tbl FROM pg_index i
           JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
           JOIN pg_class c ON c.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'insert_parts'
           WHERE (am.amname = 'gin' AND c.relname IN ('no_gin', 'no_vector', 'pkey_only'))
              OR (NOT i.indisprimary AND c.relname = 'pkey_only') LOOP
    -- Unique indexes of constraints go with their constraint.
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = r.idx::oid) THEN
      EXECUTE format('ALTER TABLE insert_parts.%I DROP CONSTRAINT %I', r.tbl,
        (SELECT conname FROM pg_constraint WHERE conindid = r.idx::oid));
    ELSE
      EXECUTE format('DROP INDEX %s', r.idx);
    END IF;
  END LOOP;
END $$;

CREATE TABLE insert_parts.result (variant text, rows bigint, insert_ms float8, commit_ms float8);

CREATE PROCEDURE insert_parts.run(variant text, batches int) LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := (SELECT body FROM insert_parts.batch);
  n int := jsonb_array_length(b);
  t0 timestamptz; t1 timestamptz;
  ins float8 := 0; com float8 := 0;
BEGIN
  FOR i IN 1..batches LOOP
    t0 := clock_timestamp();
    EXECUTE format(
      'INSERT INTO insert_parts.%I (conversation_id, seq, rev, sender_id, content, message_type, '
      'reply_to_id, mentions, file_url, attachment, call_info, client_id, created_at) '
      'SELECT x.conversation_id, x.v, x.v, x.sender_id, x.content, x.message_type, x.reply_to_id, '
      'x.mentions, x.file_url, x.attachment, x.call_info, ''c'' || x.v, now() '
      'FROM (SELECT r.*, nextval(''insert_parts.seq'') AS v '
      'FROM jsonb_to_recordset($1) AS r(conversation_id bigint, sender_id bigint, content text, '
      'message_type text, reply_to_id bigint, mentions text, file_url text, attachment text, '
      'call_info text)) x',
      variant) USING b;
    t1 := clock_timestamp();
    COMMIT;
    ins := ins + extract(epoch FROM t1 - t0) * 1000;
    com := com + extract(epoch FROM clock_timestamp() - t1) * 1000;
  END LOOP;
  INSERT INTO insert_parts.result VALUES (variant, batches::bigint * n, ins, com);
  COMMIT;
END $$;

-- Turns: every variant once per round, in a different order each round.
DO $$ BEGIN PERFORM setseed(0.42); END $$;
SELECT format('CALL insert_parts.run(%L, %s)', v, :BATCHES)
FROM generate_series(1, :ROUNDS) r,
     unnest(ARRAY['full_', 'no_fk', 'no_gin', 'no_vector', 'pkey_only', 'heap']) v
ORDER BY r, random() \gexec

\echo
\echo 'Inserting, per stored message (us); "part" is what this variant lacks against the row above:'
SELECT variant, sum(rows) AS rows,
       round((sum(insert_ms) * 1000 / sum(rows))::numeric, 1) AS insert_us,
       round((lag(sum(insert_ms) * 1000 / sum(rows)) OVER (ORDER BY min(o.ord))
              - sum(insert_ms) * 1000 / sum(rows))::numeric, 1) AS part_us,
       round((sum(commit_ms) * 1000 / sum(rows))::numeric, 1) AS commit_us
FROM insert_parts.result
JOIN unnest(ARRAY['full_', 'no_fk', 'no_gin', 'no_vector', 'pkey_only', 'heap'])
     WITH ORDINALITY o(name, ord) ON o.name = variant
GROUP BY variant ORDER BY min(o.ord);

-- The search vector's expression alone, over as many texts, the same texts each time.
CREATE TABLE insert_parts.texts AS
SELECT x.content FROM insert_parts.batch,
     jsonb_to_recordset(body) AS x(content text), generate_series(1, :BATCHES * 5);
CREATE PROCEDURE insert_parts.expr(label text, sql text) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; n bigint; ignored bigint;
BEGIN
  SELECT count(*) INTO n FROM insert_parts.texts;
  t0 := clock_timestamp();
  EXECUTE 'SELECT sum(length(' || sql || ')) FROM insert_parts.texts' INTO ignored;
  INSERT INTO insert_parts.result
  VALUES (label, n, extract(epoch FROM clock_timestamp() - t0) * 1000, 0);
END $$;
DELETE FROM insert_parts.result;
CALL insert_parts.expr('reading the text', 'content');
CALL insert_parts.expr('punctuation replaced',
  $e$regexp_replace(content, '[[:punct:]«»“”‘’„‚‹›…–—¡¿·•、。，！？：；（）「」『』【】《》〈〉]+', ' ', 'g')$e$);
CALL insert_parts.expr('to_tsvector simple', $e$to_tsvector('simple'::regconfig, content)$e$);
CALL insert_parts.expr('to_tsvector chat_search', $e$to_tsvector('chat_search'::regconfig, content)$e$);
CALL insert_parts.expr('the search vector (both)',
  $e$to_tsvector('chat_search'::regconfig, regexp_replace(content, '[[:punct:]«»“”‘’„‚‹›…–—¡¿·•、。，！？：；（）「」『』【】《》〈〉]+', ' ', 'g'))$e$);
\echo 'The search vector expression, per message (us):'
SELECT variant AS expression, rows, round((insert_ms * 1000 / rows)::numeric, 2) AS us
FROM insert_parts.result;

DROP SCHEMA insert_parts CASCADE;
