//! How Hearth's value types are stored: one representation per backend, chosen so that a person
//! reading either database sees what the API shows.
//!
//! | type      | SQLite                               | PostgreSQL    |
//! |-----------|--------------------------------------|---------------|
//! | ids       | TEXT, hyphenated                     | `uuid`        |
//! | `UtcTime` | TEXT, `YYYY-MM-DDTHH:MM:SS.ffffffZ`  | `timestamptz` |

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueFormat, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Type};

use crate::time::UtcTime;

/// Implements the storage of one uuid newtype (used by `id_type!`).
#[doc(hidden)]
#[macro_export]
macro_rules! sqlx_uuid_newtype {
    ($name:ident) => {
        impl sqlx::Type<sqlx::Sqlite> for $name {
            fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
                <String as sqlx::Type<sqlx::Sqlite>>::type_info()
            }
            fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
            }
        }
        impl sqlx::Encode<'_, sqlx::Sqlite> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::sqlite::SqliteArgumentsBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <uuid::fmt::Hyphenated as sqlx::Encode<sqlx::Sqlite>>::encode_by_ref(
                    &self.0.hyphenated(),
                    buf,
                )
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for $name {
            fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<sqlx::Sqlite>>::decode(value)?;
                Ok(Self(uuid::Uuid::parse_str(s)?))
            }
        }
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <uuid::Uuid as sqlx::Type<sqlx::Postgres>>::type_info()
            }
        }
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <uuid::Uuid as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.0, buf)
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(Self(<uuid::Uuid as sqlx::Decode<sqlx::Postgres>>::decode(value)?))
            }
        }
    };
}

impl Type<Sqlite> for UtcTime {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for UtcTime {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.to_db_text(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for UtcTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(s.parse::<UtcTime>()?)
    }
}

/// PostgreSQL counts `timestamptz` in microseconds from 2000-01-01T00:00:00Z.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const TIMESTAMPTZ_OID: u32 = 1184;

impl Type<Postgres> for UtcTime {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(TIMESTAMPTZ_OID))
    }
}

impl Encode<'_, Postgres> for UtcTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<Postgres>>::encode(self.as_micros() - PG_EPOCH_MICROS, buf)
    }
}

impl<'r> Decode<'r, Postgres> for UtcTime {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => {
                let micros = <i64 as Decode<Postgres>>::decode(value)?;
                UtcTime::from_micros(micros + PG_EPOCH_MICROS)
                    .ok_or_else(|| "timestamptz out of range".into())
            }
            PgValueFormat::Text => {
                // e.g. "2026-11-23 10:00:00.5+00"
                let s = value.as_str()?.replacen(' ', "T", 1);
                let s = if s.ends_with("+00") { format!("{s}:00") } else { s };
                Ok(s.parse::<UtcTime>()?)
            }
        }
    }
}
