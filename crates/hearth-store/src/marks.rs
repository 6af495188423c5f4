//! Bind-parameter marks for generated multi-row statements.
//!
//! PostgreSQL numbers its parameters (`$1, $2, …`). SQLite accepts the same marks, but it finds each
//! numbered parameter by name in a list, both when it parses the statement and each time sqlx binds a
//! value (sqlx asks every parameter's name): a statement with n numbered parameters costs O(n²). A
//! 500-row update with 6,000 of them spent more time there than in the update itself. So on SQLite a
//! generated statement uses plain `?` marks, which SQLite and sqlx both number in order of appearance:
//! each value is bound once, in the order the marks appear, and the statement uses no `$n` mark.

use crate::Backend;

/// `(…), (…), …`: `rows` tuples of `cols` marks, for a statement whose parameters are all in them
/// (PostgreSQL: `$1` … `$rows×cols`; SQLite: `?`).
pub(crate) fn row_marks(backend: Backend, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    out.push('$');
                    out.push_str(&(1 + r * cols + c).to_string());
                }
            }
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_numbers_every_mark_and_sqlite_uses_plain_marks() {
        assert_eq!(row_marks(Backend::Postgres, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(row_marks(Backend::Sqlite, 2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(row_marks(Backend::Sqlite, 1, 1), "(?)");
    }
}
