//! Multi-row statements: `values ($1, $2), ($3, $4), …`, in chunks that stay far below both
//! databases' parameter limits (SQLite 32,766 per statement, PostgreSQL 65,535).

use crate::Tx;

/// Parameters per statement, at most.
const MAX_PARAMS: usize = 8_000;
/// Rows per statement, at most.
const MAX_ROWS: usize = 500;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_rows_in_order() {
        assert_eq!(row_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(rows_per_statement(17), 470);
        assert_eq!(rows_per_statement(3), 500);
    }
}
