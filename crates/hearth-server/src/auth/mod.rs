//! Who is asking, and may they. A request is authenticated once, by [`middleware::authenticate`]
//! (an API key in `Authorization: Bearer`, or a session cookie), and authorized by the
//! [`Authorized`] extractor in each handler's signature, which names the permission it needs.
//! Nothing else in the code decides access.

mod actor;
mod extract;
pub mod login;
pub mod middleware;
pub mod secrets;
pub mod session;
pub mod totp;

pub use actor::{Actor, ActorKind, RequestMeta};
pub use extract::{Authorized, SignedIn, perms};
