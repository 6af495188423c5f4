//! Outbound messaging rules that need no I/O: the channels a message can take and the lifecycle of a
//! message (see `shared/specs/messaging.md`).

mod channel;
pub mod retry;
mod status;

pub use channel::Channel;
pub use status::MessageStatus;
