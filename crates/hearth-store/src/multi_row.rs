//! Multi-row statements: `values ($1, $2), ($3, $4), …`, in chunks that stay far below both
//! databases' parameter limits (SQLite 32,766 per statement, PostgreSQL 65,535).

use crate::Tx;

/// Parameters per statement, at most.
const MAX_PARAMS: usize = 8_000;
/// Rows per statement, at most. For narrow rows (a patient's name keys, three values each) 2,000
/// rather than 500 made batched ingest 4% faster on SQLite (BENCHMARKS.md, session 13): fewer
/// statements, each with its own statement journal, for the same rows.
const MAX_ROWS: usize = 2_000;

/// How many rows of `cols` values one statement takes.
pub(crate) fn rows_per_statement(cols: usize) -> usize {
    (MAX_PARAMS / cols.max(1)).clamp(1, MAX_ROWS)
}

/// `$first, $first+1, …` (`n` of them).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `($1, …, $cols), ($cols+1, …), …` for `rows` rows.
pub(crate) fn row_placeholders(rows: usize, cols: usize) -> String {
    (0..rows).map(|r| format!("({})", placeholders(1 + r * cols, cols))).collect::<Vec<_>>().join(", ")
}

/// The `values` of a multi-row statement whose only parameters are its rows' values, bound in
/// order: numbered on PostgreSQL ([`row_placeholders`]), anonymous `(?, ?), (?, ?)` on SQLite. SQLite
/// looks each numbered parameter up by name when it prepares and again when it binds — a cost
/// that grows with the square of their number and, at thousands per statement, outweighed the
/// writes themselves; anonymous ones are bound by position.
pub(crate) fn values_list(tx: &Tx, rows: usize, cols: usize) -> String {
    match tx {
        Tx::Sqlite(_) => {
            let row = format!("({})", vec!["?"; cols].join(", "));
            vec![row.as_str(); rows].join(", ")
        }
        Tx::Postgres(_) => row_placeholders(rows, cols),
    }
}

/// The rows of `select {columns} from {from} where {scope} and {key} = …` for each of `keys` (text
/// values of a unique key), where `scope` names the organization as `$1` and one more text value as
/// `$2`. The prefetch of an ingest batch: hundreds of keys at a time, each once (on PostgreSQL a key
/// given twice is looked up twice).
///
/// SQLite: `{key} in (select value from json_each($3))`, the keys bound as one JSON array: one
/// statement text whatever the number of keys (prepared once, then cached), and no numbered
/// parameters, which SQLite looks up by name one by one — at 500 keys, 4% of the committer's SQLite
/// time went to `sqlite3_bind_parameter_name`.
///
/// PostgreSQL: one index lookup per key, `unnest($3::text[])` joined laterally to the lookup. Written
/// as `{key} in (…)`, PostgreSQL without statistics on the table (one filled faster than `ANALYZE`
/// runs) estimated the scope at one row and read every row of it, testing each against the whole
/// list: an ingest of 60,000 events slowed to 600 events/s.
pub(crate) async fn fetch_by_keys<R>(
    tx: &mut Tx,
    lookup: &KeyLookup<'_>,
    org: hearth_core::OrgId,
    scope: &str,
    keys: &[&str],
) -> Result<Vec<R>, crate::StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let KeyLookup { columns, from, scope_sql, key } = lookup;
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        match tx {
            Tx::Sqlite(t) => {
                let sql =
                    format!("select {columns} from {from} where {scope_sql} and {key} in ({})", json_list(3));
                out.extend(
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(org)
                        .bind(scope)
                        .bind(json_array(chunk))
                        .fetch_all(&mut **t)
                        .await?,
                );
            }
            Tx::Postgres(t) => {
                // `offset 0` keeps the lateral subquery a per-key lookup (it is not merged into a
                // join that could be planned as a scan).
                let sql = format!(
                    "select found.* from unnest($3::text[]) as wanted (k)
                       cross join lateral (select {columns} from {from}
                                            where {scope_sql} and {key} = wanted.k offset 0) found"
                );
                out.extend(
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(org)
                        .bind(scope)
                        .bind(chunk)
                        .fetch_all(&mut **t)
                        .await?,
                );
            }
        }
    }
    Ok(out)
}

/// SQLite: the values of a list bound as one JSON array ([`json_array`]) at parameter `param`, for
/// `… in ({})` (see [`fetch_by_keys`] for why not one parameter per value).
pub(crate) fn json_list(param: usize) -> String {
    format!("select value from json_each(${param})")
}

/// `values` as a JSON array of strings, for [`json_list`].
pub(crate) fn json_array<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> String {
    let values = values.into_iter().map(|v| serde_json::Value::from(v.as_ref())).collect();
    serde_json::Value::Array(values).to_string()
}

/// Keys per statement of [`fetch_by_keys`].
const KEYS_PER_LOOKUP: usize = 500;

/// What [`fetch_by_keys`] reads: `select {columns} from {from} where {scope_sql} and {key} = …`.
pub(crate) struct KeyLookup<'a> {
    pub columns: &'a str,
    pub from: &'a str,
    pub scope_sql: &'a str,
    pub key: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_rows_in_order() {
        assert_eq!(row_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(rows_per_statement(17), 470);
        assert_eq!(rows_per_statement(3), 2_000);
        assert_eq!(rows_per_statement(2), 2_000);
    }
}
