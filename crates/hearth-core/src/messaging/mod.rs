//! Outbound messaging rules that need no I/O: the channels a message can take, the lifecycle of a
//! message, the purposes messages are sent for (with the variables their templates may use) and SMS
//! encoding (see `shared/specs/messaging.md`).

mod channel;
mod purpose;
pub mod reply;
pub mod retry;
pub mod sms;
mod status;

pub use channel::Channel;
pub use purpose::{Detail, InvalidLanguage, Language, Purpose, UnknownPurpose, Variable};
pub use status::MessageStatus;
