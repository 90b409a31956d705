-- init_db's look at the catalog, after the advisory lock, before any DDL ($1 = schema name, unquoted)
PREPARE inspect(text) AS
SELECT to_regnamespace(quote_ident($1)) IS NOT NULL                    AS has_schema,
       to_regclass(quote_ident($1) || '.jobs') IS NOT NULL              AS has_jobs,
       to_regclass(quote_ident($1) || '.gqs_schema') IS NOT NULL        AS has_version_table,
       ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
             FROM pg_attribute a
             WHERE a.attrelid = to_regclass(quote_ident($1) || '.jobs') AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum)                                          AS jobs_columns,
       ARRAY(SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = to_regclass(quote_ident($1) || '.jobs') ORDER BY 1) AS jobs_indexes;
